"""Record each gate's verdict in `audit.gate_results`: what passed, what failed and why, per night."""

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
