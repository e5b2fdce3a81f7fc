"""The hand-written SQL pass of `gx_vs_sql` computes what the raw GX checkpoint computes: the same verdict for
every expectation and the same unexpected counts, on clean rows and on rows that break some checks. Real
PostgreSQL, real GX; no timing is asserted here (that is `make bench`'s job)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

import pytest

from cakupan.bench.bench_gx import (
    Expectation,
    HandWrittenPassDisagrees,
    UnsupportedExpectation,
    Verdict,
    check_agreement,
    checkpoint_suites,
    hand_written_verdicts,
    measure_raw_gate,
    run_gx_gate,
    suite_statement,
)
from cakupan.platform import db
from raw_rows import insert_delivery

D = dt.date(2026, 11, 20)
BRANCH = "SAWAHLUNTO"
PESERTA = {"kpj": None, "nik_hash": None, "segmen": "BPU", "kode_desa": "13.73.02.2005", "pekerjaan": "OJEK",
           "sumber_iuran": "APBD", "tanggal_daftar": dt.date(2025, 1, 1), "status": "AKTIF"}


def add_peserta(conn, delivery_id: int, count: int, **overrides) -> None:
    rows = []
    for number in range(1, count + 1):
        row = {**PESERTA, "delivery_id": delivery_id, "row_number": number,
               "kpj": f"{delivery_id:02d}{number:09d}", "nik_hash": f"{delivery_id * 1000 + number:064x}"}
        row.update(overrides)
        rows.append(row)
    columns = list(rows[0])
    with conn.cursor() as cursor:
        cursor.executemany(f"INSERT INTO raw.peserta ({', '.join(columns)}) "
                           f"VALUES ({', '.join(['%s'] * len(columns))})",
                           [[row[c] for c in columns] for row in rows])


def add_iuran(conn, delivery_id: int, id_transaksi: str, **overrides) -> None:
    row = {"delivery_id": delivery_id, "row_number": 1, "id_transaksi": id_transaksi, "kpj": "10000000001",
           "periode": dt.date(2026, 11, 1), "program": "JKK", "jumlah": 16_800, "tanggal_bayar": D,
           "sumber_iuran": "APBD"}
    row.update(overrides)
    conn.execute(f"INSERT INTO raw.iuran ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
                 list(row.values()))


def add_file_load(conn, delivery_id: int, file_name: str, *, manifest: int, read: int, loaded: int,
                  rejected: int = 0) -> None:
    conn.execute(
        "INSERT INTO audit.file_loads (delivery_id, kode_cabang, export_date, file_name, status, rows_read, "
        "rows_loaded, rows_rejected, manifest_rows, delivery_fingerprint) "
        "VALUES (%s, %s, %s, %s, 'loaded', %s, %s, %s, %s, %s)",
        (delivery_id, BRANCH, D, file_name, read, loaded, rejected, manifest, f"fingerprint-{delivery_id}"))


def both_verdicts(settings, tmp_path):
    _, statements, gx = run_gx_gate(settings, tmp_path / "gx")
    with db.connect(settings, "transformer") as conn:
        hand_written = hand_written_verdicts(conn, checkpoint_suites(settings.expectations_dir))
    return statements, gx, hand_written


def unexpected(verdicts: dict, suite: str, type_: str, **kwargs) -> int:
    return verdicts[Expectation(suite, type_, kwargs).key].unexpected_count


def observed(verdicts: dict, suite: str, type_: str, **kwargs):
    return verdicts[Expectation(suite, type_, kwargs).key].observed_value


@pytest.fixture
def previous_night(empty_warehouse):
    """A branch's previous export, through the gate: 150 active BPU participants, so distribution checks apply."""
    conn = empty_warehouse
    conn.execute("INSERT INTO reference.branches VALUES (%s, 'Sawahlunto', 'Sumbagut')", (BRANCH,))
    insert_delivery(conn, 1, D - dt.timedelta(days=1), gate_passed=True)
    add_peserta(conn, 1, 150)
    return conn


def test_clean_night_every_check_passes_and_both_agree(settings, previous_night, tmp_path):
    conn = previous_night
    insert_delivery(conn, 2, D)
    add_peserta(conn, 2, 148)
    add_peserta(conn, 2, 2, nik_hash="a" * 64, status="NONAKTIF")  # a person twice: allowed
    add_iuran(conn, 2, "T-1")
    add_iuran(conn, 2, "T-2", program="JHT", row_number=2)
    add_file_load(conn, 2, "peserta.csv", manifest=150, read=150, loaded=150)
    add_file_load(conn, 2, "iuran.csv", manifest=2, read=2, loaded=2)

    statements, gx, hand_written = both_verdicts(settings, tmp_path)
    check_agreement(gx, hand_written)
    expectations = sum(len(s.expectations) for s in checkpoint_suites(settings.expectations_dir))
    assert len(gx) == len(hand_written) == expectations
    assert all(verdict.success for verdict in hand_written.values())
    assert statements > len(checkpoint_suites(settings.expectations_dir))
    assert observed(hand_written, "raw_peserta_nik", "expect_column_proportion_of_unique_values_to_be_between",
                    column="nik_hash", min_value=0.5) == 149 / 150


def test_broken_rows_get_the_same_counts_from_both(settings, previous_night, tmp_path):
    conn = previous_night
    # Tonight: 100 active participants where there were 150 (-33 %), none of them BPU any more.
    insert_delivery(conn, 2, D, sha256="not-a-checksum")
    add_peserta(conn, 2, 97, segmen="PU")
    add_peserta(conn, 2, 2, segmen="PU", kpj="1234", kode_desa="13-73-02-2005")
    add_peserta(conn, 2, 1, segmen="ASN")
    # A delivery from the future, of a branch outside the reference, with one bad payment.
    conn.execute("INSERT INTO raw.deliveries (delivery_id, kode_cabang, export_date, content_sha256) "
                 "VALUES (3, 'lowercase', '2100-01-01', %s)", ("b" * 64,))
    add_peserta(conn, 3, 1, pekerjaan="ASTRONOT")
    add_iuran(conn, 3, "T-1", jumlah=0, program="XYZ")
    add_iuran(conn, 3, "T-2", kpj="ABC", row_number=2)
    # The audit disagrees with the manifest, with raw (101 rows loaded, 100 in raw) and with quarantine.
    add_file_load(conn, 2, "peserta.csv", manifest=105, read=104, loaded=101, rejected=3)
    add_file_load(conn, 3, "iuran.csv", manifest=2, read=2, loaded=2)

    _, gx, hand_written = both_verdicts(settings, tmp_path)
    check_agreement(gx, hand_written)  # the same verdict and count for every expectation
    failed = {key[1] for key, verdict in hand_written.items() if not verdict.success}
    assert "expect_column_values_to_be_unique" not in failed and "expect_column_values_to_not_be_null" not in failed

    assert unexpected(hand_written, "raw_peserta", "expect_column_values_to_match_regex",
                      column="kpj", regex="^[0-9]{11}$") == 2
    assert unexpected(hand_written, "raw_peserta", "expect_column_values_to_match_regex",
                      column="kode_desa", regex=r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$") == 2
    assert unexpected(hand_written, "raw_peserta", "expect_column_values_to_be_in_set",
                      column="segmen", value_set=["PU", "BPU", "JAKON", "PMI"]) == 1
    assert unexpected(hand_written, "raw_iuran", "expect_column_values_to_be_in_set", column="program",
                      value_set=["JKK", "JKM", "JHT", "JP", "JKP"]) == 1
    assert unexpected(hand_written, "raw_iuran", "expect_column_values_to_be_between", column="jumlah",
                      min_value=1.0) == 1
    assert unexpected(hand_written, "raw_iuran", "expect_column_values_to_match_regex", column="kpj",
                      regex="^[0-9]{11}$") == 1
    assert unexpected(hand_written, "raw_deliveries", "expect_column_values_to_match_regex",
                      column="content_sha256", regex="^[0-9a-f]{64}$") == 1
    assert unexpected(hand_written, "raw_deliveries", "expect_column_values_to_match_regex",
                      column="kode_cabang", regex="^[A-Z0-9_]{2,20}$") == 1
    assert observed(hand_written, "raw_deliveries", "unexpected_rows_expectation", unexpected_rows_query=(
        "SELECT kode_cabang, export_date FROM {batch} WHERE export_date > loaded_at::date + 1")) == 1
    for columns in (("rows_read", "manifest_rows"), ("rows_loaded", "rows_in_raw"),
                    ("rows_rejected", "rows_in_quarantine")):
        assert unexpected(hand_written, "raw_accounting", "expect_column_pair_values_to_be_equal",
                          column_A=columns[0], column_B=columns[1]) == 1
    assert unexpected(hand_written, "raw_distribution", "expect_column_values_to_be_between",
                      column="active_change", min_value=-0.2) == 1
    assert unexpected(hand_written, "raw_distribution", "expect_column_values_to_be_between",
                      column="bpu_share_change", min_value=-0.1, max_value=0.1) == 1


def test_a_new_expectation_of_a_supported_type_is_compared_too(settings, previous_night, tmp_path):
    project = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir, project)
    suite_path = project / "expectations" / "raw_peserta.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append({"type": "expect_column_value_lengths_to_equal", "severity": "critical",
                                  "kwargs": {"column": "kode_desa", "value": 13, "mostly": 0.9}})
    suite_path.write_text(json.dumps(suite))
    insert_delivery(previous_night, 2, D)
    add_peserta(previous_night, 2, 8)
    add_peserta(previous_night, 2, 2, kode_desa="13.73.02.20051")  # 2 of 10 too long: below mostly=0.9
    settings = dataclasses.replace(settings, expectations_dir=project)

    _, gx, hand_written = both_verdicts(settings, tmp_path)
    check_agreement(gx, hand_written)
    added = Expectation("raw_peserta", "expect_column_value_lengths_to_equal",
                        {"column": "kode_desa", "value": 13, "mostly": 0.9}).key
    assert hand_written[added] == Verdict(False, unexpected_count=2)


def test_a_disagreement_is_an_error_not_a_ratio():
    key = Expectation("raw_iuran", "expect_column_values_to_be_unique", {"column": "id_transaksi"}).key
    with pytest.raises(HandWrittenPassDisagrees, match="raw_iuran expect_column_values_to_be_unique"):
        check_agreement({key: Verdict(False, unexpected_count=2)}, {key: Verdict(False, unexpected_count=1)})
    with pytest.raises(HandWrittenPassDisagrees, match="only GX checked it"):
        check_agreement({key: Verdict(True, unexpected_count=0)}, {})


def test_an_expectation_without_hand_written_sql_is_refused(settings, tmp_path):
    project = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir, project)
    suite_path = project / "expectations" / "raw_iuran.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append({"type": "expect_column_values_to_be_increasing", "kwargs": {"column": "row_number"},
                                  "severity": "warning"})
    suite_path.write_text(json.dumps(suite))
    [iuran] = [s for s in checkpoint_suites(project) if s.suite == "raw_iuran"]
    with pytest.raises(UnsupportedExpectation, match="expect_column_values_to_be_increasing"):
        suite_statement(iuran)


def test_measure_reports_the_bench_keys(settings, previous_night):
    insert_delivery(previous_night, 2, D)
    add_peserta(previous_night, 2, 150)
    measured = measure_raw_gate(settings, repeats=1, progress=lambda _: None)
    assert set(measured) >= {"gx_vs_sql", "gx_seconds", "sql_seconds", "gx_statements", "checks"}
    assert measured["checks"] == 26 and measured["gx_statements"] > 5 and measured["gx_vs_sql"] > 0


def test_measure_refuses_an_empty_gate(settings, previous_night):
    with pytest.raises(ValueError, match="No delivery awaits the raw gate"):
        measure_raw_gate(settings, repeats=1, progress=lambda _: None)
