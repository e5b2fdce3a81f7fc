"""The gate: marts are built and checked as a candidate and published only when every check passed. A
failed gate leaves the published marts exactly as they were, fails the run with the check's name, and is
recorded in `audit.gate_results` and in Data Docs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from cakupan.orchestration.dag_run import run_nightly
from cakupan.settings import load_settings
from published_marts import fingerprint

pytestmark = pytest.mark.slow

def add_expectation(project: Path, suite: str, expectation: dict) -> None:
    """One more expectation in a suite of a copy of the GX project, as a data engineer would add it."""
    path = project / "expectations" / f"{suite}.json"
    content = json.loads(path.read_text())
    content["expectations"].append(expectation)
    path.write_text(json.dumps(content, indent=2))


def test_a_failed_marts_gate_publishes_nothing(small_night, empty_warehouse, tmp_path, monkeypatch):
    conn = empty_warehouse
    first_date = dt.date(2026, 11, 20)
    first = run_nightly(small_night, first_date, docs=False)
    assert first.succeeded, first.failure_summary()
    published = fingerprint(conn)
    assert published["coverage_province"][0] == 38

    # The same suites plus one error-severity check the next night cannot pass.
    strict = tmp_path / "expectations"
    shutil.copytree(small_night.expectations_dir, strict)
    add_expectation(strict, "marts_coverage_province", {
        "type": "expect_table_row_count_to_equal", "kwargs": {"value": 39},
        "description": "Uji gerbang: 39 provinsi", "severity": "critical",
    })
    monkeypatch.setenv("CAKUPAN_EXPECTATIONS_DIR", str(strict))

    next_date = first_date + dt.timedelta(days=1)
    second = run_nightly(load_settings(), next_date)
    assert not second.succeeded
    assert second.task_states["validate_marts"] == "failed"
    assert "Uji gerbang: 39 provinsi" in second.failure_summary()

    # BI tools see exactly what they saw before; the candidate holds the night that failed.
    assert fingerprint(conn) == published
    assert conn.execute("SELECT count(*) FROM marts.coverage_province WHERE snapshot_date = %s",
                        (next_date,)).fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM marts_candidate.coverage_province WHERE snapshot_date = %s",
                        (next_date,)).fetchone() == (38,)
    assert conn.execute("SELECT snapshot_date FROM audit.publications").fetchall() == [(first_date,)]
    gates = conn.execute(
        "SELECT gate, passed, failures FROM audit.gate_results WHERE snapshot_date = %s ORDER BY gate_result_id",
        (next_date,),
    ).fetchall()
    assert [(gate, passed) for gate, passed, _ in gates] == [("gx_raw", True), ("dbt", True), ("gx_marts", False)]
    assert any("Uji gerbang: 39 provinsi" in failure for failure in gates[-1][2])
    data_docs = "".join(p.read_text(errors="ignore") for p in (small_night.docs_dir / "gx").rglob("*.html"))
    assert "marts_coverage_province" in data_docs
    # The docs site was still built: it says the night was not published and why, and keeps the old figures.
    assert second.task_states["build_docs"] == "success"
    index = (small_night.docs_dir / "index.html").read_text()
    assert f"Data {next_date} tidak diterbitkan" in index and "Uji gerbang: 39 provinsi" in index
    assert f'<strong id="published">{first_date}</strong>' in index

    # With the usual suites again, the next run publishes that night.
    monkeypatch.delenv("CAKUPAN_EXPECTATIONS_DIR")
    third = run_nightly(load_settings(), next_date, docs=False)
    assert third.succeeded, third.failure_summary()
    assert conn.execute("SELECT count(*) FROM marts.coverage_province WHERE snapshot_date = %s",
                        (next_date,)).fetchone() == (38,)
    assert {table: rows for table, (rows, _) in fingerprint(conn).items()}["coverage_province"] == 76


def test_a_failed_dbt_test_publishes_nothing(small_night, empty_warehouse):
    conn = empty_warehouse
    first_date = dt.date(2026, 11, 20)
    assert run_nightly(small_night, first_date, docs=False).succeeded
    published = fingerprint(conn)

    # A reference row the loader would have refused, written behind its back: dbt's relationships test fails.
    conn.execute("INSERT INTO reference.branch_districts (kode_cabang, district_code) VALUES ('SOLOK', '99.99')")
    next_date = first_date + dt.timedelta(days=1)
    second = run_nightly(small_night, next_date, docs=False)
    assert not second.succeeded
    assert second.task_states["dbt_build"] == "failed"
    assert "relationships_stg_reference__branch_districts_district_code" in second.failure_summary()

    assert fingerprint(conn) == published
    (passed, failures), = conn.execute(
        "SELECT passed, failures FROM audit.gate_results WHERE snapshot_date = %s AND gate = 'dbt'", (next_date,)
    ).fetchall()
    assert not passed and any("relationships_stg_reference__branch_districts" in f for f in failures)
    assert conn.execute("SELECT count(*) FROM audit.publications WHERE snapshot_date = %s",
                        (next_date,)).fetchone() == (0,)


def _failed_gate(conn, snapshot_date, gate: str) -> list[str]:
    (passed, failures), = conn.execute(
        "SELECT passed, failures FROM audit.gate_results WHERE snapshot_date = %s AND gate = %s "
        "ORDER BY gate_result_id DESC LIMIT 1", (snapshot_date, gate)).fetchall()
    assert not passed
    return failures


def test_a_branch_whose_active_participants_collapse_stops_the_night(small_night, empty_warehouse):
    from delivery_builder import peserta, write_delivery

    conn = empty_warehouse
    first_date = dt.date(2026, 11, 20)
    assert run_nightly(small_night, first_date, docs=False).succeeded

    # A branch large enough for the check (200 active), then an export that parses fine and breaks no
    # row rule, but where nearly every participant turned NONAKTIF.
    rows = [peserta(kpj=f"{12_000_000_000 + n:011d}", nik=f"13730101019{n:05d}") for n in range(1, 201)]
    grown_date = first_date + dt.timedelta(days=1)
    write_delivery(small_night.landing_root, "SAWAHLUNTO", grown_date.isoformat(), rows)
    assert run_nightly(small_night, grown_date, docs=False).succeeded
    published = fingerprint(conn)

    next_date = grown_date + dt.timedelta(days=1)
    collapsed = [{**row, "status": "NONAKTIF"} if i >= 20 else row for i, row in enumerate(rows)]
    write_delivery(small_night.landing_root, "SAWAHLUNTO", next_date.isoformat(), collapsed)
    second = run_nightly(small_night, next_date, docs=False)
    assert not second.succeeded and second.task_states["validate_raw"] == "failed"
    assert "tidak turun lebih dari 20%" in second.failure_summary()
    assert any("raw_distribution" in f for f in _failed_gate(conn, next_date, "gx_raw"))
    assert fingerprint(conn) == published

    # Nothing new the night after: the delivery still waits for the gate, so that night fails too.
    third = run_nightly(small_night, next_date + dt.timedelta(days=1), docs=False)
    assert not third.succeeded and third.task_states["validate_raw"] == "failed"
    assert fingerprint(conn) == published

    # The branch re-delivers that date correctly: it replaces the bad export and the night publishes.
    write_delivery(small_night.landing_root, "SAWAHLUNTO", next_date.isoformat(), rows)
    fourth = run_nightly(small_night, next_date, docs=False)
    assert fourth.succeeded, fourth.failure_summary()
    assert conn.execute("SELECT count(*) FROM marts.coverage_province WHERE snapshot_date = %s",
                        (next_date,)).fetchone() == (38,)


def test_branch_freshness_warns_then_stops_the_night(small_night, empty_warehouse, monkeypatch):
    conn = empty_warehouse
    first_date = dt.date(2026, 11, 20)
    assert run_nightly(small_night, first_date, docs=False).succeeded
    monkeypatch.setenv("CAKUPAN_BRANCH_LATE_ERROR_DAYS", "5")

    # Three days without any delivery: past the 2-day warning, within the 5-day limit. Published, flagged.
    later = first_date + dt.timedelta(days=3)
    warned = run_nightly(load_settings(), later)
    assert warned.succeeded, warned.failure_summary()
    (warnings,), = conn.execute(
        "SELECT warnings FROM audit.gate_results WHERE snapshot_date = %s AND gate = 'dbt'", (later,)).fetchall()
    assert any("branch_delivered_within_warn_days" in w for w in warnings)
    index = (small_night.docs_dir / "index.html").read_text()
    assert "terlambat lebih dari 2 hari" in index and "branch_delivered_within_warn_days" in index

    # Six days: past the limit. dbt's freshness test fails and nothing of that night is published.
    published = fingerprint(conn)
    too_late = first_date + dt.timedelta(days=6)
    stopped = run_nightly(load_settings(), too_late)
    assert not stopped.succeeded and stopped.task_states["dbt_build"] == "failed"
    assert "branch_delivered_within_error_days" in stopped.failure_summary()
    assert fingerprint(conn) == published
    assert "terlambat lebih dari 5 hari" in (small_night.docs_dir / "index.html").read_text()


def test_a_first_night_that_fails_its_gate_still_gets_a_docs_site(small_night, empty_warehouse, tmp_path,
                                                                   monkeypatch):
    strict = tmp_path / "expectations"
    shutil.copytree(small_night.expectations_dir, strict)
    add_expectation(strict, "raw_peserta", {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 0},
                                            "description": "Uji gerbang: tanpa peserta", "severity": "critical"})
    monkeypatch.setenv("CAKUPAN_EXPECTATIONS_DIR", str(strict))

    run = run_nightly(load_settings(), dt.date(2026, 11, 20))
    assert not run.succeeded and run.task_states["validate_raw"] == "failed"
    assert run.task_states["build_docs"] == "success"
    assert empty_warehouse.execute("SELECT to_regnamespace('marts')").fetchone() == (None,)
    index = (small_night.docs_dir / "index.html").read_text()
    assert "Belum ada angka yang diterbitkan" in index and "Uji gerbang: tanpa peserta" in index
