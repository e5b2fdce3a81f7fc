"""The generator writes exports that follow contract v1: the real loader accepts every row."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
from cakupan.reference import region_package
from cakupan.reference.loader import load_reference
from cakupan.sample.generate import EMPLOYER_HEADER, generate, generate_next_night

D = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def sample(tmp_path_factory, settings):
    out = tmp_path_factory.mktemp("sample")
    summary = generate(out, D, branches=6, participants=6_000, seed=7, cache_dir=settings.cache_dir,
                       progress=lambda _: None)
    return out, summary


def _employers(reference_root: Path) -> dict[str, dict[str, str]]:
    with (reference_root / "pemberi_kerja.csv").open(newline="", encoding="utf-8") as handle:
        return {row["npp"]: row for row in csv.DictReader(handle)}


def _employers_named(landing_root: Path, export_date: dt.date) -> tuple[Counter[str], set[str]]:
    """Active PU/JAKON participants per npp, and every npp_pemberi_bantuan, in one night's exports."""
    workers: Counter[str] = Counter()
    sponsors: set[str] = set()
    for path in landing_root.glob(f"*/{export_date.isoformat()}/peserta.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["segmen"] in ("PU", "JAKON"):
                    workers[row["npp"]] += row["status"] == "AKTIF"
                if row["npp_pemberi_bantuan"]:
                    sponsors.add(row["npp_pemberi_bantuan"])
    return workers, sponsors


def test_manifests_match_their_files(sample):
    out, summary = sample
    folders = sorted((out / "landing").glob("*/2026-11-20"))
    assert len(folders) == summary.branches == 6
    for folder in folders:
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["kode_cabang"] == folder.parent.name and manifest["export_date"] == "2026-11-20"
        for entry in manifest["files"]:
            data = (folder / entry["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert data.count(b"\n") - 1 == entry["rows"]


def test_same_seed_same_bytes_other_seed_other_bytes(sample, tmp_path, settings):
    out, _ = sample
    again = generate(tmp_path / "again", D, branches=6, participants=6_000, seed=7, cache_dir=settings.cache_dir,
                     progress=lambda _: None)
    other = generate(tmp_path / "other", D, branches=6, participants=6_000, seed=8, cache_dir=settings.cache_dir,
                     progress=lambda _: None)
    for path in (out / "landing").rglob("*.csv"):
        relative = path.relative_to(out)
        assert (again.landing_root.parent / relative).read_bytes() == path.read_bytes()
    assert any((other.landing_root.parent / p.relative_to(out)).exists() is False
               or (other.landing_root.parent / p.relative_to(out)).read_bytes() != p.read_bytes()
               for p in (out / "landing").rglob("peserta.csv"))


def test_the_employer_reference_names_every_employer_of_the_exports(sample, settings):
    out, summary = sample
    with (summary.reference_root / "pemberi_kerja.csv").open(newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == list(EMPLOYER_HEADER) == [
            "npp", "nama_badan_usaha", "kode_kabkota", "skala_usaha", "jumlah_pekerja"]
        rows = list(csv.reader(handle))
    employers = _employers(summary.reference_root)
    assert len(rows) == len(employers) == summary.employers
    assert all(re.fullmatch(r"[0-9]{8}", npp) for npp in employers)
    assert len({row[1] for row in rows}) == len(rows)
    assert all(re.fullmatch(r"(PT|CV|UD|Koperasi) [A-Z][a-z]+ [A-Z][a-z]+ [0-9]{4,}", row[1]) for row in rows)
    # Seated in a real district, and only in the districts the branches serve, each branch having a handful.
    regions = {code for code, _, _ in region_package.iter_level(region_package.ensure_package(settings.cache_dir),
                                                                "district")}
    with (summary.reference_root / "kantor_cabang.csv").open(newline="", encoding="utf-8") as handle:
        branch_of = {d: b["kode_cabang"] for b in csv.DictReader(handle) for d in b["kode_kabkota"].split(";")}
    seats = Counter(branch_of[e["kode_kabkota"]] for e in employers.values())
    assert {e["kode_kabkota"] for e in employers.values()} <= regions
    assert len(seats) == summary.branches and min(seats.values()) >= 5
    assert all(e["skala_usaha"] in ("BESAR", "MENENGAH", "KECIL", "MIKRO") and int(e["jumlah_pekerja"]) >= 1
               for e in employers.values())
    # Every employer a participant names is in the reference: the PU/JAKON npp and the CSR npp_pemberi_bantuan.
    workers, sponsors = _employers_named(summary.landing_root, D)
    assert workers and sponsors
    assert set(workers) <= set(employers) and sponsors <= set(employers)
    assert {employers[npp]["skala_usaha"] for npp in sponsors} <= {"BESAR", "MENENGAH"}


def test_employers_are_mostly_small_and_cover_plausibly(tmp_path, settings):
    summary = generate(tmp_path, D, branches=6, participants=40_000, seed=5, cache_dir=settings.cache_dir,
                       progress=lambda _: None)
    employers = _employers(summary.reference_root)
    assert 900 < len(employers) < 1_200  # one per about 30 PU/JAKON participants
    sizes = Counter(e["skala_usaha"] for e in employers.values())
    shares = {size: count / len(employers) for size, count in sizes.items()}
    assert 0.55 < shares["MIKRO"] < 0.65 and 0.23 < shares["KECIL"] < 0.33
    assert 0.06 < shares["MENENGAH"] < 0.12 and 0.015 < shares["BESAR"] < 0.05
    bounds = {"MIKRO": (1, 9), "KECIL": (10, 99), "MENENGAH": (100, 999), "BESAR": (1_000, 200_000)}
    for employer in employers.values():
        low, high = bounds[employer["skala_usaha"]]
        assert low <= int(employer["jumlah_pekerja"]) <= high
    # Participants go to employers by workforce: the covered workers of most stay below the workforce
    # reported, a few exceed it, and the big employers cover the most.
    workers, _ = _employers_named(summary.landing_root, D)
    above = sum(workers[npp] > int(e["jumlah_pekerja"]) for npp, e in employers.items())
    assert 0 < above < 0.08 * len(employers)
    mean = {size: sum(workers[npp] for npp, e in employers.items() if e["skala_usaha"] == size) / sizes[size]
            for size in sizes}
    assert mean["BESAR"] > mean["MENENGAH"] > mean["KECIL"] > mean["MIKRO"]


def test_every_generated_row_passes_the_contract(sample, empty_warehouse, monkeypatch):
    out, summary = sample
    monkeypatch.setenv("CAKUPAN_REFERENCE_ROOT", str(summary.reference_root))
    from cakupan.settings import load_settings

    load_reference(empty_warehouse, load_settings(), progress=lambda _: None)
    deliveries, incomplete = landing.find_deliveries(summary.landing_root, D)
    assert incomplete == []
    pseudonymiser = Pseudonymiser("generator-test")
    for delivery in deliveries:
        outcome = load_delivery(empty_warehouse, delivery, pseudonymiser, progress=lambda _: None)
        assert outcome.status == "loaded"
    assert empty_warehouse.execute("SELECT count(*) FROM audit.rejected_rows").fetchone()[0] == 0
    stats = empty_warehouse.execute(
        """SELECT count(*), count(DISTINCT kpj), count(DISTINCT nik_hash),
                  count(*) FILTER (WHERE status = 'AKTIF')
           FROM raw.peserta"""
    ).fetchone()
    rows, kpjs, persons, active = stats
    assert kpjs == summary.participants == 6_000
    assert rows > kpjs  # transfers: some KPJ are in two branches' exports
    assert persons < kpjs  # some persons hold several KPJ
    assert 0.80 < active / rows < 0.90
    segments = Counter(dict(empty_warehouse.execute("SELECT segmen, count(*) FROM raw.peserta GROUP BY 1").fetchall()))
    assert 0.58 < segments["PU"] / rows < 0.68
    assert 0.19 < segments["BPU"] / rows < 0.27
    assert 0.10 < segments["JAKON"] / rows < 0.17
    # Export v1.1: about half the CSR rows name the employer paying, each on a BPU CSR row only; NIK districts kept.
    csr, named, misplaced, without_district = empty_warehouse.execute(
        """SELECT count(*) FILTER (WHERE sumber_iuran = 'CSR' AND segmen = 'BPU'),
                  count(npp_pemberi_bantuan),
                  count(npp_pemberi_bantuan) FILTER (WHERE NOT (sumber_iuran = 'CSR' AND segmen = 'BPU')),
                  count(*) FILTER (WHERE nik_district !~ '^[0-9]{2}[.][0-9]{2}$' OR nik_district IS NULL)
           FROM raw.peserta"""
    ).fetchone()
    assert 0.3 < named / csr < 0.7 and misplaced == 0 and without_district == 0
    served = empty_warehouse.execute(
        """SELECT count(DISTINCT district_code) FILTER (WHERE district_code NOT IN
                 (SELECT district_code FROM reference.employed_population))
           FROM reference.branch_districts"""
    ).fetchone()[0]
    assert served == 0  # every served district has an employed-population figure


def test_the_next_night_changes_the_share_asked_and_passes_the_contract(sample, empty_warehouse, tmp_path,
                                                                         monkeypatch):
    out, summary = sample
    landing_root = tmp_path / "landing"
    shutil.copytree(summary.landing_root, landing_root)
    following = generate_next_night(landing_root, D, changed_share=0.05, seed=3, progress=lambda _: None)
    monkeypatch.setenv("CAKUPAN_REFERENCE_ROOT", str(summary.reference_root))
    from cakupan.settings import load_settings

    load_reference(empty_warehouse, load_settings(), progress=lambda _: None)
    deliveries, incomplete = landing.find_deliveries(landing_root, D + dt.timedelta(days=1))
    assert incomplete == [] and len(deliveries) == 2 * summary.branches == 2 * following.branches
    pseudonymiser = Pseudonymiser("generator-test")
    for delivery in deliveries:
        assert load_delivery(empty_warehouse, delivery, pseudonymiser, progress=lambda _: None).status == "loaded"
    assert empty_warehouse.execute("SELECT count(*) FROM audit.rejected_rows").fetchone()[0] == 0

    # The same participants in every branch, and exactly the changed ones differ (status, village or funding).
    before, after, differing = empty_warehouse.execute(
        """WITH night AS (SELECT d.export_date, d.kode_cabang, p.*
                          FROM raw.peserta p JOIN raw.deliveries d USING (delivery_id))
           SELECT count(*) FILTER (WHERE b.kpj IS NOT NULL), count(*) FILTER (WHERE a.kpj IS NOT NULL),
                  count(*) FILTER (WHERE (b.status, b.kode_desa, b.sumber_iuran)
                                         <> (a.status, a.kode_desa, a.sumber_iuran))
           FROM (SELECT * FROM night WHERE export_date = %s) b
           FULL JOIN (SELECT * FROM night WHERE export_date = %s) a USING (kode_cabang, kpj)""",
        (D, D + dt.timedelta(days=1))).fetchone()
    assert before == after == following.participants
    assert differing == following.changed
    assert 0.04 < following.changed / following.participants < 0.06
    paid = empty_warehouse.execute(
        "SELECT count(*) FROM raw.iuran i JOIN raw.deliveries d USING (delivery_id) WHERE d.export_date = %s",
        (D + dt.timedelta(days=1),)).fetchone()[0]
    assert paid == following.payments > 0
    # The changed rows keep naming employers of the reference.
    employers = set(_employers(summary.reference_root))
    workers, sponsors = _employers_named(landing_root, D + dt.timedelta(days=1))
    assert workers and set(workers) <= employers and sponsors <= employers
