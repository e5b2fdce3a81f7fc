"""The reference loader: every Kemendagri region, and clear errors on bad ministry files."""

from __future__ import annotations

import pytest

from cakupan.reference.loader import ReferenceError, load_branches, load_employed_population


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
