"""What the gates look at and what they forgive: night D gates only deliveries dated D or earlier (contract
branch-export-v1 section 7.6); a delivery with no participant row is a collapse; a docs disk that cannot be
written never fails a gate, so the night still publishes. Real PostgreSQL and GX; one night through Airflow."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from cakupan.gates.gate_log import deliveries_awaiting_raw_gate, mark_raw_gate_passed, raw_gate_of_night
from cakupan.orchestration.dag_run import run_nightly
from cakupan.settings import load_settings
from raw_rows import gate, insert_delivery, insert_peserta

D = dt.date(2026, 11, 20)


def add_active(conn, delivery_id: int, count: int) -> None:
    for number in range(1, count + 1):
        insert_peserta(conn, delivery_id, row_number=number, kpj=f"{delivery_id:02d}{number:09d}",
                       nik_hash=f"{delivery_id * 1000 + number:064x}")


def test_the_raw_gate_of_night_d_checks_only_deliveries_dated_d_or_earlier(settings, loader, tmp_path):
    insert_delivery(loader, 1, D - dt.timedelta(days=1))
    add_active(loader, 1, 2)
    # Loaded by a night for a later date, and broken: that night's gate is the one it fails.
    insert_delivery(loader, 2, D + dt.timedelta(days=2))
    insert_peserta(loader, 2, kpj="10000000009", segmen="ASN")

    with raw_gate_of_night(loader, D, "run-of-d") as awaiting:
        assert awaiting == [1]
        outcome = gate(settings, tmp_path)
    assert outcome.success, outcome.failed_errors
    mark_raw_gate_passed(loader, awaiting)
    assert loader.execute("SELECT count(*) FROM audit.raw_gate_night").fetchone() == (0,)
    waiting = loader.execute("SELECT delivery_id FROM raw.deliveries WHERE raw_gate_passed_at IS NULL").fetchall()
    assert waiting == [(2,)]

    # The night after D: still not its date. Night D+2 gates it, and fails.
    with raw_gate_of_night(loader, D + dt.timedelta(days=1)) as awaiting:
        assert awaiting == []
    with raw_gate_of_night(loader, D + dt.timedelta(days=2)) as awaiting:
        assert awaiting == [2]
        failed = gate(settings, tmp_path)
    assert not failed.success and any("raw_peserta.segmen" in f for f in failed.failed_errors)
    # Outside a night's gate (a checkpoint run by hand, the benchmarks) every delivery awaiting it is checked.
    assert deliveries_awaiting_raw_gate(loader) == [2]


def test_a_delivery_with_no_participant_row_is_a_collapse(settings, empty_warehouse, loader, tmp_path):
    insert_delivery(loader, 1, D - dt.timedelta(days=1), gate_passed=True)
    add_active(loader, 1, 120)
    insert_delivery(loader, 2, D)  # its every row was rejected, or the file held none
    outcome = gate(settings, tmp_path)
    assert not outcome.success
    assert any(f.startswith("raw_distribution.active_change") and "tidak turun lebih dari 20%" in f
               for f in outcome.failed_errors), outcome.failed_errors

    # A small branch (below the size the percentage check needs), or one delivering for the first time: still.
    empty_warehouse.execute("TRUNCATE raw.deliveries, raw.peserta")
    insert_delivery(loader, 3, D - dt.timedelta(days=1), "SOLOK", gate_passed=True)
    add_active(loader, 3, 5)
    insert_delivery(loader, 4, D, "SOLOK")
    insert_delivery(loader, 5, D, "PEKANBARU")
    outcome = gate(settings, tmp_path)
    assert not outcome.success
    (failure,) = [f for f in outcome.failed_errors if f.startswith("raw_distribution.active_change")]
    assert "2 rows break it" in failure


def test_docs_that_cannot_be_written_never_fail_a_gate(settings, loader, tmp_path):
    insert_delivery(loader, 1, D)
    add_active(loader, 1, 2)
    not_a_folder = tmp_path / "disk"
    not_a_folder.write_text("a regular file where a folder should be: nothing can be written under it")

    outcome = gate(settings, tmp_path, results_dir=not_a_folder / "validations", data_docs_dir=not_a_folder / "gx")
    assert outcome.success, outcome.failed_errors
    assert "validation results not kept" in outcome.note and "Data Docs not written" in outcome.note

    # Only the writing is forgiven: a check that fails still fails the gate.
    insert_peserta(loader, 1, kpj="10000000009", row_number=3, segmen="ASN")
    failed = gate(settings, tmp_path, results_dir=not_a_folder / "validations", data_docs_dir=not_a_folder / "gx")
    assert not failed.success and any("raw_peserta.segmen" in f for f in failed.failed_errors)


def test_a_full_docs_disk_never_fails_a_gate(settings, loader, tmp_path):
    """The disk fills up while GX writes (ENOSPC), not before: a tiny tmpfs, where this machine may mount one."""
    disk = tmp_path / "full-disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        insert_delivery(loader, 1, D)
        add_active(loader, 1, 2)
        outcome = gate(settings, tmp_path, results_dir=disk / "validations", data_docs_dir=disk / "gx")
        assert outcome.success, outcome.failed_errors
        assert "No space left on device" in outcome.note, outcome.note
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.slow
def test_a_night_publishes_with_its_docs_disk_broken_and_a_later_delivery_waiting(small_night, empty_warehouse,
                                                                                  tmp_path, monkeypatch):
    conn = empty_warehouse
    # A broken delivery for two days after the night, already loaded (by a night for that date).
    later = conn.execute("SELECT nextval('audit.delivery_id_seq')").fetchone()[0]
    insert_delivery(conn, later, D + dt.timedelta(days=2))
    insert_peserta(conn, later, kpj="10000000009", segmen="ASN")
    broken = tmp_path / "docs-disk"
    broken.write_text("not a folder")
    monkeypatch.setenv("CAKUPAN_DOCS_DIR", str(broken / "docs"))

    night = run_nightly(load_settings(), D, docs=False)
    assert night.succeeded, night.failure_summary()
    assert conn.execute("SELECT count(*) FROM marts.coverage_province WHERE snapshot_date = %s",
                        (D,)).fetchone() == (38,)
    assert conn.execute("SELECT gate, passed FROM audit.gate_results ORDER BY gate_result_id").fetchall() == [
        ("gx_raw", True), ("dbt", True), ("gx_marts", True)]
    # Gated were the night's deliveries, dated D or earlier; the later one waits for its own night.
    assert conn.execute("SELECT export_date FROM raw.deliveries WHERE raw_gate_passed_at IS NULL").fetchall() == [
        (D + dt.timedelta(days=2),)]
    assert conn.execute("SELECT count(*) FROM raw.deliveries WHERE raw_gate_passed_at IS NOT NULL").fetchone()[0] > 0
