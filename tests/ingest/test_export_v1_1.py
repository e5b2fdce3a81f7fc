"""Export contract v1.1 (docs/contracts/award-v2.md section 1) on the real warehouse: npp_pemberi_bantuan read
from every format, judged by its two row rules, kept in raw; a v1 delivery beside it loads as before. And the
NIK's issuing district (section 3): its first four digits, never more, kept beside the hash."""

from __future__ import annotations

import io

import openpyxl
import pytest

from delivery_builder import PESERTA_HEADER_V1_1, csv_bytes, load_folder as _load, peserta, write_delivery

D = "2026-11-20"
V1_1 = {"contract_version": 1.1}

# Row by row: (row, what becomes of it). The CSR rows are BPU by the builder's default.
ROWS = [
    peserta(kpj="10000000001", sumber_iuran="CSR", npp_pemberi_bantuan="12345678"),  # loaded, with the employer
    peserta(kpj="10000000002", sumber_iuran="CSR", npp_pemberi_bantuan=""),  # CSR, company not recorded
    peserta(kpj="10000000003", sumber_iuran="CSR", npp_pemberi_bantuan="1234567"),  # 7 digits
    peserta(kpj="10000000004", sumber_iuran="APBD", npp_pemberi_bantuan="12345678"),  # BPU but not CSR
    peserta(kpj="10000000005", segmen="PU", npp="87654321", sumber_iuran="CSR",
            npp_pemberi_bantuan="12345678"),  # CSR but not BPU
    peserta(kpj="10000000006", nik="3201010101900006", sumber_iuran="APBD"),  # no column value: fine
]
EXPECTED_REJECTED = [
    (3, "10000000003", "npp_pemberi_bantuan", "npp_pemberi_bantuan_format"),
    (4, "10000000004", "npp_pemberi_bantuan", "npp_pemberi_bantuan_terlarang"),
    (5, "10000000005", "npp_pemberi_bantuan", "npp_pemberi_bantuan_terlarang"),
]
EXPECTED_LOADED = [
    ("10000000001", "13.73", "12345678"),
    ("10000000002", "13.73", None),
    ("10000000006", "32.01", None),
]


def _xlsx(rows: list[dict]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(PESERTA_HEADER_V1_1)
    for row in rows:
        sheet.append([row.get(c, "") for c in PESERTA_HEADER_V1_1])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _loaded(conn, branch):
    return conn.execute(
        "SELECT p.kpj, p.nik_district, p.npp_pemberi_bantuan FROM raw.peserta p "
        "JOIN raw.deliveries d USING (delivery_id) WHERE d.kode_cabang = %s ORDER BY p.kpj", (branch,)).fetchall()


def _rejected(conn, branch):
    return conn.execute(
        "SELECT row_number, kpj, column_name, rule, reason FROM audit.rejected_rows WHERE kode_cabang = %s "
        "ORDER BY row_number", (branch,)).fetchall()


@pytest.mark.parametrize("written", ["csv", "csv_cp1252_semicolon", "xlsx"])
def test_v1_1_column_is_judged_and_kept_in_every_format(empty_warehouse, tmp_path, pseudonymiser, written):
    conn = empty_warehouse
    files = {"csv": None,
             # Windows-1252 goes the careful reader's way, not DuckDB's.
             "csv_cp1252_semicolon": {"peserta.csv": csv_bytes(PESERTA_HEADER_V1_1, ROWS, delimiter=";",
                                                               encoding="cp1252", line_end="\r\n")},
             "xlsx": {"peserta.xlsx": _xlsx(ROWS)}}[written]
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, ROWS, files=files, manifest_overrides=V1_1,
                            peserta_header=PESERTA_HEADER_V1_1, row_counts={"peserta.xlsx": len(ROWS)})

    assert _load(conn, folder, pseudonymiser).status == "loaded"

    assert _loaded(conn, "SAWAHLUNTO") == EXPECTED_LOADED
    rejected = _rejected(conn, "SAWAHLUNTO")
    assert [r[:4] for r in rejected] == EXPECTED_REJECTED
    reasons = [r[4] for r in rejected]
    assert reasons[0] == "NPP pemberi bantuan harus 8 digit angka atau kosong; tertulis 7 karakter."
    assert reasons[1] == reasons[2] == ("NPP pemberi bantuan hanya boleh diisi untuk peserta segmen BPU dengan "
                                        "sumber iuran CSR; untuk peserta ini kosongkan kolom tersebut.")


def test_a_v1_and_a_v1_1_delivery_load_side_by_side(empty_warehouse, tmp_path, pseudonymiser):
    conn = empty_warehouse
    v1_rows = [peserta(kpj="20000000001", nik="1471010101900001", sumber_iuran="CSR")]
    v1 = write_delivery(tmp_path, "PEKANBARU", D, v1_rows)  # v1's header: no npp_pemberi_bantuan at all
    v1_1 = write_delivery(tmp_path, "SAWAHLUNTO", D, ROWS, manifest_overrides=V1_1,
                          peserta_header=PESERTA_HEADER_V1_1)

    assert _load(conn, v1, pseudonymiser).status == "loaded"
    assert _load(conn, v1_1, pseudonymiser).status == "loaded"

    assert _loaded(conn, "PEKANBARU") == [("20000000001", "14.71", None)]
    assert _rejected(conn, "PEKANBARU") == []
    assert _loaded(conn, "SAWAHLUNTO") == EXPECTED_LOADED
    extra = conn.execute("SELECT kode_cabang, extra_columns FROM audit.file_loads WHERE file_name = 'peserta.csv' "
                         "ORDER BY kode_cabang").fetchall()
    assert extra == [("PEKANBARU", None), ("SAWAHLUNTO", None)]  # a contract column, not an extra one


@pytest.mark.parametrize("version", [2, 1.2, "1.1"])
def test_other_contract_versions_are_rejected(empty_warehouse, tmp_path, pseudonymiser, version):
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta()], manifest_overrides={"contract_version": version})
    outcome = _load(empty_warehouse, folder, pseudonymiser)
    assert outcome.status == "rejected"
    assert outcome.files[0].reason.startswith("manifest_version: ")
    assert outcome.files[0].reason.endswith("yang berlaku: 1 atau 1.1.")


def test_only_the_nik_prefix_is_kept(empty_warehouse, tmp_path, pseudonymiser):
    """Four digits of the NIK, formatted PP.KK, and nothing more of it in raw.peserta."""
    conn = empty_warehouse
    nik = "1373029988776655"
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta(nik=nik)])
    _load(conn, folder, pseudonymiser)
    row = conn.execute("SELECT to_jsonb(p)::text FROM raw.peserta p").fetchone()[0]
    assert '"nik_district": "13.73"' in row
    assert nik[4:] not in row  # the digits after the district (a hex hash may hold any 4-6 digits)
