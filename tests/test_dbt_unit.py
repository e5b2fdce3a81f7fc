"""dbt unit tests of the counting rules (transfers, placement, stale branches, payment attribution)."""

from __future__ import annotations

import datetime as dt

from cakupan.dbt_runner import run_dbt


def test_dbt_unit_tests_pass(settings):
    lines: list[str] = []
    # Unit tests read the column types of their inputs from the database: build them, empty, first.
    run_dbt(settings, ["run", "--empty"], dt.date(2026, 11, 20), log=lambda _: None)
    run_dbt(settings, ["test", "--select", "test_type:unit"], dt.date(2026, 11, 20), log=lines.append)
    summary = next(line for line in lines if "Done. PASS=" in line)
    assert "PASS=10 " in summary and "ERROR=0" in summary
