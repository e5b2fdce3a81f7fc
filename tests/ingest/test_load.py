"""The loader on the real warehouse: every row read is loaded or quarantined with its rule and reason."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from delivery_builder import PESERTA_HEADER, csv_bytes, iuran, load_folder, peserta, register_branches, write_delivery

D = "2026-11-20"


load = load_folder


def file_loads(conn):
    return conn.execute(
        "SELECT kode_cabang, export_date::text, file_name, status, rows_read, rows_loaded, rows_rejected "
        "FROM audit.file_loads ORDER BY file_load_id"
    ).fetchall()


def rejected(conn):
    return conn.execute(
        "SELECT file_name, row_number, kpj, column_name, rule FROM audit.rejected_rows "
        "ORDER BY file_name DESC, row_number"
    ).fetchall()


def test_good_and_bad_rows_are_each_accounted_for(empty_warehouse, tmp_path, pseudonymiser):
    conn = empty_warehouse
    rows = [
        peserta(),
        peserta(kpj="10000000002", nik="3.27312E+15"),
        peserta(kpj="10000000003", kode_desa="99.99.99.9999"),
        peserta(kpj="10000000004", segmen="PU", npp=""),
        peserta(kpj="10000000005", program="JHT;JKM"),
        peserta(kpj="10000000006", tanggal_lahir="31/02/1990"),
        peserta(kpj="10000000007", tanggal_daftar="2026-11-21"),
        peserta(kpj="10000000008", tanggal_lahir="20/11/2020"),
        peserta(kpj="10000000009", segmen="PU", npp="12345678", sumber_iuran="PEMBERI_KERJA",
                tanggal_lahir="15/06/1985", upah="3.250.000", program="JKK; JKM; JHT; JP"),
    ]
    payments = [iuran(), iuran(id_transaksi="TRX-1", jumlah="20000"), iuran(id_transaksi="TRX-2", jumlah="0")]
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, rows, payments)

    outcome = load(conn, folder, pseudonymiser)

    assert outcome.status == "loaded"
    assert file_loads(conn) == [
        ("SAWAHLUNTO", D, "peserta.csv", "loaded", 9, 2, 7),
        ("SAWAHLUNTO", D, "iuran.csv", "loaded", 3, 1, 2),
    ]
    assert rejected(conn) == [
        ("peserta.csv", 2, "10000000002", "nik", "nik_notasi_ilmiah"),
        ("peserta.csv", 3, "10000000003", "kode_desa", "kode_desa_tidak_dikenal"),
        ("peserta.csv", 4, "10000000004", "npp", "npp_wajib"),
        ("peserta.csv", 5, "10000000005", "program", "program_tanpa_jkk_jkm"),
        ("peserta.csv", 6, "10000000006", "tanggal_lahir", "tanggal_lahir_tidak_valid"),
        ("peserta.csv", 7, "10000000007", "tanggal_daftar", "tanggal_daftar_setelah_ekspor"),
        ("peserta.csv", 8, "10000000008", "tanggal_lahir", "umur_di_luar_batas"),
        ("iuran.csv", 2, "10000000001", "id_transaksi", "id_transaksi_duplikat"),
        ("iuran.csv", 3, "10000000001", "jumlah", "jumlah_tidak_valid"),
    ]
    loaded = conn.execute(
        "SELECT kpj, segmen, kode_desa, pekerjaan, sumber_iuran, tanggal_daftar::text, status, length(nik_hash) "
        "FROM raw.peserta ORDER BY kpj"
    ).fetchall()
    assert loaded == [
        ("10000000001", "BPU", "13.73.02.2005", "OJEK", "APBD", "2025-03-01", "AKTIF", 64),
        ("10000000009", "PU", "13.73.02.2005", "OJEK", "PEMBERI_KERJA", "2025-03-01", "AKTIF", 64),
    ]
    # Only what the numbers need: sex, last period paid and wage were judged, not kept; of the programmes only
    # whether they are the full four (JKK JKM JHT JP), for the award's employers.
    kept = conn.execute("SELECT array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns "
                        "WHERE table_schema = 'raw' AND table_name = 'peserta'").fetchone()[0]
    assert kept == ["delivery_id", "row_number", "kpj", "nik_hash", "segmen", "kode_desa", "pekerjaan",
                    "sumber_iuran", "tanggal_daftar", "status", "nik_district", "npp_pemberi_bantuan", "npp",
                    "full_program"]
    assert conn.execute("SELECT kpj, npp, full_program FROM raw.peserta ORDER BY kpj").fetchall() == [
        ("10000000001", None, False), ("10000000009", "12345678", True)]
    assert conn.execute("SELECT id_transaksi, jumlah, periode::text FROM raw.iuran").fetchall() == [
        ("TRX-1", 10000, "2026-11-01")
    ]


def test_personal_data_never_reaches_the_warehouse(empty_warehouse, tmp_path, pseudonymiser):
    conn = empty_warehouse
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta(), peserta(kpj="10000000002", nik="12345")])
    load(conn, folder, pseudonymiser)
    dump = str(conn.execute("SELECT array_agg(p::text) FROM raw.peserta p").fetchone()[0])
    dump += str(conn.execute("SELECT array_agg(r::text) FROM audit.rejected_rows r").fetchone()[0])
    for personal in ("1373020101900001", "Ngadimin", "1990-01-01", "12345'"):
        assert personal not in dump
    assert conn.execute("SELECT nik_hash FROM raw.peserta").fetchone()[0] == pseudonymiser.pseudonym("1373020101900001")


def test_duplicate_kpj_rejects_both_rows(empty_warehouse, tmp_path, pseudonymiser):
    conn = empty_warehouse
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta(), peserta(), peserta(kpj="10000000002")])
    load(conn, folder, pseudonymiser)
    assert [r[1:] for r in rejected(conn)] == [(1, "10000000001", "kpj", "kpj_duplikat"),
                                              (2, "10000000001", "kpj", "kpj_duplikat")]


def test_redelivery_supersedes_and_identical_redelivery_is_a_duplicate(empty_warehouse, tmp_path, pseudonymiser):
    conn = empty_warehouse
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta()], [iuran()])
    first = load(conn, folder, pseudonymiser)
    assert load(conn, folder, pseudonymiser).status == "already_seen"

    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta(), peserta(kpj="10000000002")], [iuran()])
    second = load(conn, folder, pseudonymiser)
    assert second.status == "loaded"
    assert conn.execute("SELECT count(*), min(delivery_id) FROM raw.peserta").fetchone() == (2, second.delivery_id)
    # The payment came again with the correction; it replaced the superseded one instead of being a duplicate.
    assert conn.execute("SELECT count(*) FROM raw.iuran").fetchone()[0] == 1

    os.utime(folder / "_manifest.json", ns=(1, 1))  # the same bytes uploaded once more
    assert load(conn, folder, pseudonymiser).status == "duplicate"
    statuses = conn.execute("SELECT delivery_id, status FROM audit.file_loads ORDER BY file_load_id").fetchall()
    assert [s for _, s in statuses] == ["superseded", "superseded", "loaded", "loaded", "duplicate", "duplicate"]
    assert statuses[0][0] == first.delivery_id


@pytest.mark.parametrize(
    "change, rule",
    [
        (dict(manifest_overrides={"kode_cabang": "SOLOK"}), "manifest_branch_mismatch"),
        (dict(row_counts={"peserta.csv": 5}), "row_count_mismatch"),
        (dict(files={"peserta.xlsx": b"PK\x03\x04 truncated"}), "unreadable"),
        (dict(files={"peserta.csv": b"kpj,nik\n1,2\n"}), "required_columns_missing"),
        (dict(files={"peserta.csv": b""}), "empty_file"),
    ],
)
def test_a_broken_file_rejects_the_whole_delivery(empty_warehouse, tmp_path, pseudonymiser, change, rule):
    conn = empty_warehouse
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta()], [iuran()], **change)
    outcome = load(conn, folder, pseudonymiser)
    assert outcome.status == "rejected"
    reasons = conn.execute("SELECT file_name, status, reason FROM audit.file_loads ORDER BY file_load_id").fetchall()
    assert all(status == "rejected" for _, status, _ in reasons)
    assert any(reason.startswith(rule + ":") for _, _, reason in reasons), reasons
    assert conn.execute("SELECT count(*) FROM raw.peserta").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM raw.deliveries").fetchone()[0] == 0


def test_a_folder_without_manifest_is_not_read(tmp_path):
    write_delivery(tmp_path, "SAWAHLUNTO", D, [peserta()], manifest=False)
    write_delivery(tmp_path, "SOLOK", D, [peserta()])
    complete, incomplete = landing.find_deliveries(tmp_path, dt.date(2026, 11, 20))
    assert [d.label for d in complete] == ["SOLOK/2026-11-20"]
    assert [p.parent.name for p in incomplete] == ["SAWAHLUNTO"]


def test_pii_key_can_come_from_an_airflow_connection(monkeypatch):
    import json

    from cakupan.settings import load_settings
    from cakupan.transform.nightly import pii_key

    monkeypatch.delenv("CAKUPAN_PII_KEY")
    monkeypatch.setenv("AIRFLOW_CONN_CAKUPAN_PII_KEY", json.dumps({"conn_type": "generic", "password": "from-airflow"}))
    assert pii_key(load_settings()) == "from-airflow"
    monkeypatch.delenv("AIRFLOW_CONN_CAKUPAN_PII_KEY")
    assert pii_key(load_settings()) is None


def test_extra_columns_are_ignored_and_reported(empty_warehouse, tmp_path, pseudonymiser):
    from delivery_builder import PESERTA_HEADER, csv_bytes

    rows = [{**peserta(), "Keterangan": "pindahan", "email": "x@example.org"}]
    data = csv_bytes([*PESERTA_HEADER, "Keterangan", "email"], rows)
    folder = write_delivery(tmp_path, "SAWAHLUNTO", D, [], files={"peserta.csv": data}, row_counts={"peserta.csv": 1})
    outcome = load(empty_warehouse, folder, pseudonymiser)
    assert outcome.status == "loaded"
    assert empty_warehouse.execute(
        "SELECT rows_loaded, extra_columns FROM audit.file_loads WHERE file_name = 'peserta.csv'"
    ).fetchone() == (1, "Keterangan, email")


def test_the_fast_and_the_careful_reader_load_the_same(empty_warehouse, tmp_path, pseudonymiser):
    """DuckDB reads plain UTF-8 CSV itself; Windows-1252 goes through the Python reader. Same rows, same
    pseudonyms, same rejections, whichever path a file takes."""
    conn = empty_warehouse
    rows = [
        peserta(nama="José d’Almeida"),
        peserta(kpj="10000000002", nik="3.27312E+15"),
        peserta(kpj="10000000003", kode_desa="99.99.99.9999"),
        peserta(kpj="10000000004", upah="1.500.000", program="JKK; JKM ;JHT"),
        peserta(kpj="10000000004", nama="Dua Kali"),
    ]
    results = []
    for branch, encoding in (("FAST", "utf-8"), ("CAREFUL", "cp1252")):
        data = csv_bytes(PESERTA_HEADER, rows, encoding=encoding)
        folder = write_delivery(tmp_path, branch, D, [], files={"peserta.csv": data},
                                row_counts={"peserta.csv": len(rows)})
        said: list[str] = []
        register_branches(conn, branch)
        assert load_delivery(conn, landing.delivery_at(folder), pseudonymiser, progress=said.append).status == "loaded"
        assert not any("carefully" in line for line in said), said  # cp1252 goes careful by design, silently
        loaded = conn.execute(
            "SELECT row_number, kpj, nik_hash, segmen FROM raw.peserta JOIN raw.deliveries USING (delivery_id) "
            "WHERE kode_cabang = %s ORDER BY 1", (branch,)).fetchall()
        quarantined = conn.execute(
            "SELECT row_number, kpj, rule, reason FROM audit.rejected_rows WHERE kode_cabang = %s AND "
            "file_name = 'peserta.csv' ORDER BY 1", (branch,)).fetchall()
        results.append((loaded, quarantined))
    assert results[0] == results[1]
    loaded, quarantined = results[0]
    assert loaded == [(1, "10000000001", pseudonymiser.pseudonym(rows[0]["nik"]), "BPU")]
    assert [(n, rule) for n, _, rule, _ in quarantined] == [
        (2, "nik_notasi_ilmiah"), (3, "kode_desa_tidak_dikenal"), (4, "kpj_duplikat"), (5, "kpj_duplikat")]


def test_padded_values_load_as_if_trimmed(empty_warehouse, tmp_path, pseudonymiser):
    """Values with spaces around them load as the same values without, and the plain file (whose values the
    fast reader does not trim) loads the same rows."""
    conn = empty_warehouse
    plain = [peserta(), peserta(kpj="10000000002", status="NONAKTIF")]
    padded = [{**row, "kpj": f" {row['kpj']}", "segmen": f"{row['segmen']} ", "status": f" {row['status']} ",
               "upah": f"{row['upah']} "} for row in plain]
    results = []
    for branch, rows in (("PLAIN", plain), ("PADDED", padded)):
        folder = write_delivery(tmp_path, branch, D, rows)
        said: list[str] = []
        register_branches(conn, branch)
        assert load_delivery(conn, landing.delivery_at(folder), pseudonymiser, progress=said.append).status == "loaded"
        assert not any("carefully" in line for line in said), said
        results.append(conn.execute(
            "SELECT row_number, kpj, nik_hash, segmen, kode_desa, status, tanggal_daftar FROM raw.peserta "
            "JOIN raw.deliveries USING (delivery_id) WHERE kode_cabang = %s ORDER BY 1", (branch,)).fetchall())
    assert results[0] == results[1]
    assert [(kpj, status) for _, kpj, _, _, _, status, _ in results[0]] == [
        ("10000000001", "AKTIF"), ("10000000002", "NONAKTIF")]
    assert conn.execute("SELECT count(*) FROM audit.rejected_rows").fetchone() == (0,)


def test_row_numbers_follow_the_file_across_many_batches(empty_warehouse, tmp_path, pseudonymiser):
    """DuckDB judges in parallel and the loader numbers rows by their place in its output, so the output
    must keep the file's order: bad rows far apart, in different batches, keep their own numbers."""
    conn = empty_warehouse
    count = 250_000  # ~40 MB: DuckDB reads it in several buffers, on both cores
    rows = [peserta(kpj=f"{10_000_000_000 + n:011d}") for n in range(1, count + 1)]
    unknown_village = [1, 16_385, 120_000, count]
    for n in unknown_village:
        rows[n - 1] = {**rows[n - 1], "kode_desa": "99.99.99.9999"}
    rows[count - 2] = {**rows[count - 2], "kpj": rows[1]["kpj"]}  # row 39,999 repeats row 2's KPJ
    folder = write_delivery(tmp_path, "SOLOK", D, rows)
    assert load(conn, folder, pseudonymiser).status == "loaded"
    found = conn.execute("SELECT row_number, rule FROM audit.rejected_rows WHERE file_name = 'peserta.csv' "
                         "ORDER BY row_number").fetchall()
    assert found == sorted([(n, "kode_desa_tidak_dikenal") for n in unknown_village]
                           + [(2, "kpj_duplikat"), (count - 1, "kpj_duplikat")])
    assert conn.execute("SELECT count(*), min(row_number), max(row_number) FROM raw.peserta").fetchone() == (
        count - 6, 3, count - 2)
    (in_order,) = conn.execute(
        "SELECT bool_and(kpj::bigint - 10000000000 = row_number) FROM raw.peserta").fetchone()
    assert in_order
