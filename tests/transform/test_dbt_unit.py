"""dbt unit tests of the counting rules (transfers, placement, stale branches, payment attribution)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import yaml

from cakupan.transform.dbt_runner import run_dbt

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"


def test_dbt_unit_tests_pass(settings):
    lines: list[str] = []
    # Unit tests read the column types of their inputs from the database: build them, empty, first (the
    # models, and the seeds that the lookup marts are made from).
    run_dbt(settings, ["build", "--empty", "--resource-type", "model", "--resource-type", "seed"],
            dt.date(2026, 11, 20), log=lambda _: None)
    run_dbt(settings, ["test", "--select", "test_type:unit"], dt.date(2026, 11, 20), log=lines.append)
    summary = next(line for line in lines if "Done. PASS=" in line)
    written = sum(len(yaml.safe_load(path.read_text()).get("unit_tests") or []) for path in MODELS.rglob("*.yml"))
    assert written >= 16 and f"PASS={written} " in summary and "ERROR=0" in summary


def test_dbt_sessions_leave_the_cores_to_dbts_threads(settings):
    # dbt runs a query a thread side by side, so its sessions start without PostgreSQL's parallel workers
    # unless the settings allow some (CAKUPAN_DBT_PARALLEL_WORKERS).
    for workers in (0, 2):
        lines: list[str] = []
        run_dbt(replace(settings, dbt_parallel_workers=workers),
                ["show", "--inline", "select current_setting('max_parallel_workers_per_gather') as workers"],
                dt.date(2026, 11, 20), log=lines.append)
        assert any(line.strip().strip("|").strip() == str(workers) for line in lines), lines


def test_the_next_nights_date_needs_no_new_parse(settings):
    # The date reaches dbt by environment, read only when executing, and the daily marts' tests name it as
    # __snapshot_date__ (macros/test_where.sql): dbt keeps its parse from one night to the next.
    run_dbt(settings, ["parse"], dt.date(2026, 11, 20), log=lambda _: None)
    lines: list[str] = []
    run_dbt(settings, ["--debug", "compile", "--select", "coverage_village,test_type:data"], dt.date(2026, 11, 21),
            log=lines.append)
    assert any("no changes found, skipping parsing" in line for line in lines), lines
    compiled = settings.home / "dbt" / "target" / "compiled" / "cakupan" / "models" / "marts" / "daily"
    test_sql = (compiled / "coverage_village.yml"
                / "unique_combination_coverage_village_snapshot_date__village_code.sql")
    assert "where snapshot_date = date '2026-11-21'" in test_sql.read_text()
