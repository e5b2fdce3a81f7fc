"""Bad deliveries, file by file and row by row, through the real loader: exact rows loaded and rejected,
reasons a branch officer can act on, and rows_read = rows_loaded + rows_rejected whatever the input."""

from __future__ import annotations

import csv
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
from cakupan.ingest.rejection_report import write_rejection_report
from delivery_builder import PESERTA_HEADER, csv_bytes, iuran, peserta, register_branches, write_delivery

D = "2026-11-20"


def load(conn, folder):
    register_branches(conn, folder.parent.name)
    return load_delivery(conn, landing.delivery_at(folder), Pseudonymiser(os.environ["CAKUPAN_PII_KEY"]),
                         progress=lambda _: None)


@pytest.mark.parametrize(
    "branch, date, overrides, rule",
    [
        ("solok", D, {}, "folder_name"),                       # branch folder not [A-Z0-9_]{2,20}
        ("SOLOK", "2026-02-30", {"export_date": "2026-02-30"}, "folder_name"),
        ("SOLOK", D, {"export_date": "2026-11-19"}, "manifest_date_mismatch"),
        ("SOLOK", D, {"contract_version": 2}, "manifest_version"),
    ],
)
def test_folder_and_manifest_problems_reject_the_delivery(empty_warehouse, tmp_path, branch, date, overrides, rule):
    folder = write_delivery(tmp_path, branch, date, [peserta()], manifest_overrides=overrides)
    assert load(empty_warehouse, folder).status == "rejected"
    reasons = [r for (r,) in empty_warehouse.execute("SELECT reason FROM audit.file_loads")]
    assert any(reason.startswith(rule + ":") for reason in reasons), reasons
    assert empty_warehouse.execute("SELECT count(*) FROM raw.peserta").fetchone() == (0,)


def test_checksum_mismatch_after_the_manifest(empty_warehouse, tmp_path):
    folder = write_delivery(tmp_path, "SOLOK", D, [peserta()])
    with (folder / "peserta.csv").open("ab") as handle:
        handle.write(b"10000000009,1373020101900009,Budi,1990-01-01,L,BPU,JKK;JKM,13.73.02.2005,,OJEK,APBD,2025-03-01,AKTIF,,0\n")
    assert load(empty_warehouse, folder).status == "rejected"
    (reason,) = empty_warehouse.execute(
        "SELECT reason FROM audit.file_loads WHERE file_name = 'peserta.csv'").fetchone()
    assert reason.startswith("checksum_mismatch:") and "terpotong" in reason


def test_binary_garbage_and_wrong_encoding_are_rejected_whole(empty_warehouse, tmp_path):
    garbage = bytes(range(256)) * 40
    folder = write_delivery(tmp_path, "SOLOK", D, [peserta()], files={"peserta.csv": garbage},
                            row_counts={"peserta.csv": 1})
    assert load(empty_warehouse, folder).status == "rejected"
    (reason,) = empty_warehouse.execute(
        "SELECT reason FROM audit.file_loads WHERE file_name = 'peserta.csv'").fetchone()
    assert reason.split(":")[0] in ("encoding", "unreadable", "required_columns_missing")


def test_every_row_rule_has_its_reason(empty_warehouse, tmp_path):
    cases = {
        "kpj_format": peserta(kpj="1234"),
        "nik_format": peserta(kpj="10000000002", nik="137302010190000X"),
        "nama_kosong": peserta(kpj="10000000003", nama=""),
        "jenis_kelamin_tidak_dikenal": peserta(kpj="10000000004", jenis_kelamin="X"),
        "segmen_tidak_dikenal": peserta(kpj="10000000005", segmen="ASN"),
        "program_tidak_dikenal": peserta(kpj="10000000006", program="JKK;JKM;BPJS"),
        "npp_format": peserta(kpj="10000000007", segmen="PU", npp="123", sumber_iuran="PEMBERI_KERJA"),
        "npp_terlarang": peserta(kpj="10000000008", npp="12345678"),
        "pekerjaan_tidak_dikenal": peserta(kpj="10000000009", pekerjaan="PILOT"),
        "sumber_iuran_tidak_dikenal": peserta(kpj="10000000010", sumber_iuran="HIBAH"),
        "tanggal_daftar_tidak_valid": peserta(kpj="10000000011", tanggal_daftar="2025-02-30"),
        "status_tidak_dikenal": peserta(kpj="10000000012", status="AKTIF?"),
        "iuran_terakhir_tidak_valid": peserta(kpj="10000000013", iuran_terakhir="2026-13"),
        "upah_tidak_valid": peserta(kpj="10000000014", upah="-5000"),
    }
    payments = {
        "id_transaksi_format": iuran(id_transaksi="X" * 41),
        "periode_tidak_valid": iuran(id_transaksi="T2", periode="11/2026"),
        "program_tidak_dikenal": iuran(id_transaksi="T3", program="JKK;JKM"),
        "tanggal_bayar_bukan_tanggal_ekspor": iuran(id_transaksi="T4", tanggal_bayar="19/11/2026"),
        "sumber_iuran_tidak_dikenal": iuran(id_transaksi="T5", sumber_iuran="?"),
    }
    # One good participant: a delivery with none is rejected whole (no_usable_rows) and its payments not read.
    folder = write_delivery(tmp_path, "SOLOK", D, [*cases.values(), peserta(kpj="10000000099")],
                            list(payments.values()))
    load(empty_warehouse, folder)
    found = empty_warehouse.execute(
        "SELECT file_name, row_number, rule, reason FROM audit.rejected_rows ORDER BY file_name DESC, row_number"
    ).fetchall()
    assert [(f, n, r) for f, n, r, _ in found] == (
        [("peserta.csv", i, rule) for i, rule in enumerate(cases, start=1)]
        + [("iuran.csv", i, rule) for i, rule in enumerate(payments, start=1)]
    )
    assert all(reason and reason[0].isupper() and reason.endswith(".") for *_, reason in found)
    report = write_rejection_report(empty_warehouse, tmp_path / "reports", load_id(empty_warehouse))
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "berkas;baris;kpj;kolom;aturan;alasan"
    assert len(lines) == 1 + len(cases) + len(payments)
    assert report.parent == tmp_path / "reports" / "SOLOK" / D


def load_id(conn) -> int:
    return conn.execute("SELECT max(delivery_id) FROM audit.file_loads").fetchone()[0]


cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
fuzzed_row = st.fixed_dictionaries({column: st.one_of(cell, st.sampled_from([peserta()[column]]))
                                    for column in PESERTA_HEADER})


# Derandomised in CI so a submission's result does not depend on the draw; locally each run explores anew.
@hypothesis_settings(max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")),
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(fuzzed_row, min_size=1, max_size=8), delimiter=st.sampled_from([",", ";"]))
def test_fuzzed_csv_content_loses_no_row(empty_warehouse, tmp_path_factory, rows, delimiter):
    conn = empty_warehouse
    conn.execute("TRUNCATE raw.deliveries, raw.peserta, raw.peserta_changes, raw.iuran, "
                 "audit.file_loads, audit.rejected_rows")
    data = csv_bytes(PESERTA_HEADER, rows, delimiter=delimiter)
    # What a CSV reader sees as data rows (blank lines are not rows): the manifest's honest count.
    parsed = [r for r in csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)][1:]
    count = sum(1 for r in parsed if r and not (len(r) == 1 and not r[0].strip()))
    folder = write_delivery(tmp_path_factory.mktemp("fuzz"), "SOLOK", D, [], files={"peserta.csv": data},
                            row_counts={"peserta.csv": count})
    outcome = load(conn, folder)
    if outcome.status == "loaded":
        read, loaded, rejected = conn.execute(
            "SELECT rows_read, rows_loaded, rows_rejected FROM audit.file_loads WHERE file_name = 'peserta.csv'"
        ).fetchone()
        assert read == count == loaded + rejected
        assert conn.execute("SELECT count(*) FROM raw.peserta").fetchone()[0] == loaded
        assert conn.execute("SELECT count(*) FROM audit.rejected_rows").fetchone()[0] == rejected
    else:
        assert outcome.status == "rejected"
        assert conn.execute("SELECT count(*) FROM raw.peserta").fetchone()[0] == 0
