"""The reference loader: every Kemendagri region, and clear errors on bad ministry files."""

from __future__ import annotations

import pytest

from cakupan.reference.loader import ReferenceError, load_branches, load_employed_population, load_employers


def test_all_regions_of_idn_area_data_are_loaded(settings, conn):
    counts = conn.execute(
        """SELECT (SELECT count(*) FROM reference.provinces), (SELECT count(*) FROM reference.districts),
                  (SELECT count(*) FROM reference.subdistricts), (SELECT count(*) FROM reference.villages)"""
    ).fetchone()
    assert counts == (38, 514, 7285, 83762)
    assert conn.execute(
        "SELECT district_name FROM reference.districts WHERE district_code = '13.73'"
    ).fetchone() == ("Kota Sawahlunto",)
    assert conn.execute(
        "SELECT count(*) FROM reference.villages WHERE village_code LIKE '13.73.%'"
    ).fetchone() == (37,)


def test_unknown_district_names_the_file_and_row(empty_warehouse, tmp_path):
    path = tmp_path / "kantor_cabang.csv"
    path.write_text("kode_cabang,nama_cabang,kanwil,kode_kabkota\nSOLOK,Solok,SUMBAR,13.06;13.99\n")
    with pytest.raises(ReferenceError, match=r"kantor_cabang.csv, row 1: district code '13.99'"):
        load_branches(empty_warehouse, path)


def test_missing_column_and_bad_number_are_explained(empty_warehouse, tmp_path):
    path = tmp_path / "penduduk_bekerja.csv"
    path.write_text("kode_kabkota;tahun\n13.73;2025\n")
    with pytest.raises(ReferenceError, match="missing column"):
        load_employed_population(empty_warehouse, path)
    path.write_text("kode_kabkota;tahun;penduduk_bekerja\n13.73;2025;banyak\n")
    with pytest.raises(ReferenceError, match="row 1: tahun and penduduk_bekerja must be whole numbers"):
        load_employed_population(empty_warehouse, path)
    path.write_text("kode_kabkota;tahun;penduduk_bekerja\n13.73;2025;28.000\n")
    assert load_employed_population(empty_warehouse, path) == 1
    employed = empty_warehouse.execute("SELECT employed_population FROM reference.employed_population").fetchone()
    assert employed == (28000,)


EMPLOYERS_HEADER = "npp,nama_badan_usaha,kode_kabkota,skala_usaha,jumlah_pekerja\n"


@pytest.mark.parametrize(("row", "problem"), [
    ("1234567,PT A,13.73,BESAR,10", r"line 3, column npp: '1234567' is not an NPP of 8 digits"),
    ("12345679,,13.73,BESAR,10", r"line 3, column nama_badan_usaha: is empty"),
    ("12345679,PT A,13.99,BESAR,10", r"line 3, column kode_kabkota: '13.99' is not a Kemendagri"),
    ("12345679,PT A,13.73,RAKSASA,10", r"line 3, column skala_usaha: 'RAKSASA' is not one of BESAR, MENENGAH"),
    ("12345679,PT A,13.73,KECIL,-3", r"line 3, column jumlah_pekerja: '-3' is not a whole number >= 0"),
    ("12345678,PT B,13.73,KECIL,3", r"line 3, column npp: 12345678 is listed twice"),
])
def test_a_bad_employer_row_names_the_file_line_and_column_and_loads_nothing(empty_warehouse, tmp_path, row,
                                                                           problem):
    path = tmp_path / "pemberi_kerja.csv"
    path.write_text(EMPLOYERS_HEADER + "12345678,PT Tambang Ombilin,13.73,BESAR,1.200\n")
    assert load_employers(empty_warehouse, path) == 1
    path.write_text(EMPLOYERS_HEADER + "12345678,PT Tambang Ombilin,13.73,BESAR,1.200\n" + row + "\n")
    with pytest.raises(ReferenceError, match=r"pemberi_kerja.csv, " + problem):
        load_employers(empty_warehouse, path)
    # The employers loaded before stay whole.
    assert empty_warehouse.execute("SELECT npp, workforce FROM reference.employers").fetchall() == [("12345678", 1200)]


def test_without_an_employer_file_there_are_no_employers(empty_warehouse, tmp_path):
    path = tmp_path / "pemberi_kerja.csv"
    path.write_text(EMPLOYERS_HEADER + "12345678,PT Tambang Ombilin,13.73,BESAR,1200\n")
    assert load_employers(empty_warehouse, path) == 1
    path.unlink()
    assert load_employers(empty_warehouse, path) == 0
    assert empty_warehouse.execute("SELECT count(*) FROM reference.employers").fetchone() == (0,)
