"""The gates' bookkeeping, in one place for GX and dbt: in `audit.gate_results` what passed, what failed and
why, per night; on `raw.deliveries` which deliveries passed the raw gate (only those reach dbt).

`run_gx_gate` is what the GX gate task does (the operator only adds the night lease and Airflow's log);
`record_dbt_gate` is the dbt build's verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg

from cakupan.platform import db
from cakupan.settings import Settings

if TYPE_CHECKING:
    from cakupan.gates.quality import CheckpointOutcome


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
def raw_gate_of_night(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None = None,
                      row_checks: str | None = None) -> Iterator[list[int]]:
    """While the raw gate of night D runs, the deliveries awaiting it (the view the raw suites read) are only
    those dated D or earlier: a later delivery, loaded by a night for a later date, is that night's to gate,
    and would otherwise fail every earlier night's gate (contract branch-export-v1 section 7.6). Yields them.

    `row_checks` (quality.row_checks_digest) lets a delivery whose previous delivery passed those same row
    checks be checked by its changes (raw.deliveries_checked_by_changes); without it every row is checked."""
    conn.execute("INSERT INTO audit.raw_gate_night (snapshot_date, run_id, row_checks) VALUES (%s, %s, %s) "
                 "ON CONFLICT (only_row) DO UPDATE SET snapshot_date = excluded.snapshot_date, "
                 "run_id = excluded.run_id, row_checks = excluded.row_checks, opened_at = now()",
                 (snapshot_date, run_id, row_checks))
    try:
        yield deliveries_awaiting_raw_gate(conn)
    finally:
        conn.execute("DELETE FROM audit.raw_gate_night")


def mark_raw_gate_passed(conn: psycopg.Connection, delivery_ids: Sequence[int], row_checks: str | None = None
                         ) -> None:
    """The deliveries passed the raw gate, under the row checks of digest `row_checks` (when known)."""
    conn.execute("UPDATE raw.deliveries SET raw_gate_passed_at = now(), raw_gate_row_checks = %s "
                 "WHERE delivery_id = ANY(%s)", (row_checks, list(delivery_ids)))


def run_gx_gate(settings: Settings, stage: str, snapshot_date: dt.date, run_id: str | None) -> CheckpointOutcome:
    """Run the stage's GX checkpoint for night D and record its verdict. The raw stage checks every delivery
    of D or earlier not through the gate yet (tonight's, and any that failed before), and marks them passed
    when it passes; the marts stage checks the candidate marts. The caller raises on failure."""
    # The verdicts are bookkeeping in raw and audit (the loader's); the checks read as the transformer.
    with db.connect(settings, "loader") as conn:
        row_checks = None
        if stage == "raw":
            from cakupan.gates.quality import row_checks_digest

            row_checks = row_checks_digest(settings.expectations_dir)
            with raw_gate_of_night(conn, snapshot_date, run_id, row_checks) as delivery_ids:
                by_changes = conn.execute("SELECT count(*) FROM raw.deliveries_checked_by_changes").fetchone()[0]
                outcome = _check(settings, stage, delivery_ids)
            if delivery_ids:
                checked = f"{by_changes} of {len(delivery_ids)} deliveries checked by the rows they changed"
                outcome = replace(outcome, note="; ".join(filter(None, [checked, outcome.note])))
        else:
            delivery_ids = []
            outcome = _check(settings, stage, None)
        record_gate(conn, gate=f"gx_{stage}", snapshot_date=snapshot_date, passed=outcome.success,
                    checks=outcome.evaluated, failures=outcome.failed_errors, warnings=outcome.failed_warnings,
                    run_id=run_id)
        if outcome.success and delivery_ids:
            mark_raw_gate_passed(conn, delivery_ids, row_checks)
    return outcome


def _check(settings: Settings, stage: str, delivery_ids: list[int] | None) -> CheckpointOutcome:
    """The stage's checkpoint; the raw stage with no delivery awaiting it has nothing to check."""
    from cakupan.gates.quality import CheckpointOutcome, run_checkpoint
    from cakupan.platform.warehouse import warehouse_url

    if delivery_ids == []:
        return CheckpointOutcome(stage, True, 0, note="no new deliveries for this night: nothing to check")
    return run_checkpoint(
        stage,
        warehouse_url=warehouse_url(settings, "transformer"),
        expectations_dir=settings.expectations_dir,
        results_dir=settings.home / "gx" / "validations",
        data_docs_dir=settings.docs_dir / "gx",
    )


def record_dbt_gate(settings: Settings, snapshot_date: dt.date, run_id: str | None, *, passed: bool,
                    failures: Sequence[str] = (), warnings: Sequence[str] = ()) -> None:
    """The dbt build's verdict (its failed tests, or its warnings), as the loader like the GX gates'."""
    with db.connect(settings, "loader") as conn:
        record_gate(conn, gate="dbt", snapshot_date=snapshot_date, passed=passed, run_id=run_id,
                    failures=failures, warnings=warnings)
