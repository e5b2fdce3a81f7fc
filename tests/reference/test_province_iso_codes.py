"""Every province of the region reference has its ISO 3166-2 code (dbt_project/seeds/province_iso_codes.csv), which
BI tools' maps match provinces by."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from cakupan.reference import region_package
from cakupan.settings import load_settings

ISO_CODES = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "province_iso_codes.csv"


def test_every_province_of_the_reference_has_one_iso_code():
    tarball = region_package.ensure_package(load_settings().cache_dir)
    provinces = {code: name for code, _, name in region_package.iter_level(tarball, "province")}
    with ISO_CODES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    iso = {row["province_code"]: row["province_iso"] for row in rows}

    assert len(rows) == len(iso) == len(set(iso.values())), "a province or an ISO code twice"
    assert iso.keys() == provinces.keys()
    assert all(re.fullmatch(r"ID-[A-Z]{2}", code) for code in iso.values()), iso
    # The provinces of 2022, which Kepmendagri numbers otherwise than BPS does: by their names in the reference.
    by_name = {name: iso[code] for code, name in provinces.items()}
    assert {name: by_name[name] for name in ("Papua Selatan", "Papua Tengah", "Papua Pegunungan", "Papua Barat Daya",
                                             "Papua", "Papua Barat")} == {
        "Papua Selatan": "ID-PS", "Papua Tengah": "ID-PT", "Papua Pegunungan": "ID-PE", "Papua Barat Daya": "ID-PD",
        "Papua": "ID-PA", "Papua Barat": "ID-PB"}
    assert by_name["Jawa Barat"] == "ID-JB" and by_name["Daerah Khusus Ibukota Jakarta"] == "ID-JK"
