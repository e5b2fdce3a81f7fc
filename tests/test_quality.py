"""The Great Expectations gates on the real warehouse: clean data passes, bad data stops the night with a
message naming the table, the column and the check; warnings are reported without stopping it."""

from __future__ import annotations

import datetime as dt

import pytest

from cakupan.quality import QualityGateFailed, run_checkpoint
from cakupan.warehouse import warehouse_url

D = dt.date(2026, 11, 20)


def insert_peserta(conn, delivery_id: int, **overrides) -> None:
    row = {"delivery_id": delivery_id, "kode_cabang": "SAWAHLUNTO", "export_date": D, "row_number": 1,
           "kpj": "10000000001", "nik_hash": "a" * 64, "jenis_kelamin": "L", "segmen": "BPU", "program": "JKK;JKM",
           "kode_desa": "13.73.02.2005", "npp": None, "pekerjaan": "OJEK", "sumber_iuran": "APBD",
           "tanggal_daftar": dt.date(2025, 1, 1), "status": "AKTIF", "iuran_terakhir": None, "upah": 1_500_000}
    row.update(overrides)
    columns = ", ".join(row)
    conn.execute(f"INSERT INTO raw.peserta ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))


def gate(settings, tmp_path, stage: str, delivery_ids=()):
    return run_checkpoint(
        stage, warehouse_url=warehouse_url(settings), snapshot_date=D, gx_root=tmp_path / "gx",
        data_docs_dir=tmp_path / "docs", expectations_dir=settings.expectations_dir, delivery_ids=delivery_ids,
    )


def test_clean_night_passes_and_keeps_data_docs(settings, empty_warehouse, tmp_path):
    insert_peserta(empty_warehouse, 1)
    insert_peserta(empty_warehouse, 1, kpj="10000000002", nik_hash="b" * 64)
    outcome = gate(settings, tmp_path, "raw", [1])
    assert outcome.success and outcome.failed_errors == []
    assert outcome.evaluated > 10
    assert (tmp_path / "docs" / "index.html").is_file()
    assert gate(settings, tmp_path, "raw", [1]).success  # re-running is idempotent


def test_bad_rows_fail_the_gate_with_a_clear_message(settings, empty_warehouse, tmp_path):
    insert_peserta(empty_warehouse, 2, kode_desa="13-73-02-2005")
    insert_peserta(empty_warehouse, 2, kpj="10000000002", nik_hash="3273120000000000", segmen="ASN")
    outcome = gate(settings, tmp_path, "raw", [2])
    assert not outcome.success
    with pytest.raises(QualityGateFailed) as failure:
        outcome.raise_if_failed()
    message = str(failure.value)
    assert "raw.peserta.kode_desa" in message and "expect_column_values_to_match_regex" in message
    assert "raw.peserta.segmen" in message and "expect_column_values_to_be_in_set" in message
    assert "raw.peserta.nik_hash" in message
    assert "3273120000000000" not in message  # counts only: raw values never reach logs or docs


def test_only_this_nights_deliveries_are_checked(settings, empty_warehouse, tmp_path):
    insert_peserta(empty_warehouse, 3, segmen="ASN")  # an old, bad delivery
    insert_peserta(empty_warehouse, 4, kpj="10000000002")
    assert gate(settings, tmp_path, "raw", [4]).success
    assert gate(settings, tmp_path, "raw", []).note.startswith("no new deliveries")


def test_warning_level_checks_do_not_stop_the_night(settings, empty_warehouse, tmp_path):
    # Ten KPJ of one person: suspicious (warning), not forbidden.
    for number in range(10):
        insert_peserta(empty_warehouse, 5, kpj=f"1000000001{number}", row_number=number + 1)
    outcome = gate(settings, tmp_path, "raw", [5])
    assert outcome.success
    assert any("nik_hash" in warning for warning in outcome.failed_warnings)
