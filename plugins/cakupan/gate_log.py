"""Record each gate's verdict: in `audit.gate_results` what passed, what failed and why, per night; on
`raw.deliveries` which deliveries passed the raw gate (only those reach dbt)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import psycopg


def record_gate(
    conn: psycopg.Connection, *, gate: str, snapshot_date: dt.date, passed: bool, checks: int = 0,
    failures: Sequence[str] = (), warnings: Sequence[str] = (), run_id: str | None = None,
) -> None:
    conn.execute(
        """
        INSERT INTO audit.gate_results (snapshot_date, gate, run_id, passed, checks, failures, warnings)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        """,
        (snapshot_date, gate, run_id, passed, checks, list(failures), list(warnings)),
    )


def deliveries_awaiting_raw_gate(conn: psycopg.Connection) -> list[int]:
    return [delivery_id for (delivery_id,) in conn.execute(
        "SELECT delivery_id FROM raw.deliveries WHERE raw_gate_passed_at IS NULL ORDER BY delivery_id")]


def mark_raw_gate_passed(conn: psycopg.Connection, delivery_ids: Sequence[int]) -> None:
    conn.execute("UPDATE raw.deliveries SET raw_gate_passed_at = now() WHERE delivery_id = ANY(%s)",
                 (list(delivery_ids),))
