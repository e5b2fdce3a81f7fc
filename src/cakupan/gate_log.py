"""Record each gate's verdict: in `audit.gate_results` what passed, what failed and why, per night; on
`raw.deliveries` which deliveries passed the raw gate (only those reach dbt)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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
    """The deliveries the raw gate checks now: of the night whose gate runs (raw_gate_of_night), else all."""
    return [delivery_id for (delivery_id,) in conn.execute(
        "SELECT delivery_id FROM raw.deliveries_awaiting_raw_gate ORDER BY delivery_id")]


@contextmanager
def raw_gate_of_night(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None = None
                      ) -> Iterator[list[int]]:
    """While the raw gate of night D runs, the deliveries awaiting it (the view the raw suites read) are only
    those dated D or earlier: a later delivery, loaded by a night for a later date, is that night's to gate,
    and would otherwise fail every earlier night's gate (contract branch-export-v1 section 7.6). Yields them."""
    conn.execute("INSERT INTO audit.raw_gate_night (snapshot_date, run_id) VALUES (%s, %s) ON CONFLICT (only_row) "
                 "DO UPDATE SET snapshot_date = excluded.snapshot_date, run_id = excluded.run_id, opened_at = now()",
                 (snapshot_date, run_id))
    try:
        yield deliveries_awaiting_raw_gate(conn)
    finally:
        conn.execute("DELETE FROM audit.raw_gate_night")


def mark_raw_gate_passed(conn: psycopg.Connection, delivery_ids: Sequence[int]) -> None:
    conn.execute("UPDATE raw.deliveries SET raw_gate_passed_at = now() WHERE delivery_id = ANY(%s)",
                 (list(delivery_ids),))
