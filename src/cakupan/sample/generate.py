"""Synthetic branch exports and reference CSVs that follow contract branch-export-v1 exactly.

Realistic enough to read: real Kemendagri district and village codes, each branch serving neighbouring
districts of one province, segment/funding/occupation mixes near the national figures of the contract
(about 26 M PU, 9.6 M BPU, 5.5 M JAKON of 41 M), persons holding several KPJ, and KPJ transferred
between branches. Deterministic for a seed (no clock, no global random). Rows are written as they are
made, so memory stays small whatever the size. `generate_next_night` makes the following night from a
generated one: every branch's snapshot again, a chosen share of its participants changed, new payments.
The employer reference (award-v2.md section 2) is made branch by branch with the participants: employers seated
in the branch's districts, mostly micro and small, and every PU/JAKON participant works for one of them.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import functools
import itertools
import json
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cakupan.ingest.export_contract import IURAN_COLUMNS, PESERTA_COLUMNS
from cakupan.ingest.readers import sha256_of
from cakupan.reference import region_package

# The header the generator writes: export v1.1's columns (award-v2.md section 1), in the contract's order.
PESERTA_HEADER = PESERTA_COLUMNS
CSR_EMPLOYER = PESERTA_COLUMNS.index("npp_pemberi_bantuan")
IURAN_HEADER = IURAN_COLUMNS

# Provinces in the order a growing sample takes them: Sumatera Barat (with Kota Sawahlunto) first.
PROVINCE_ORDER = ("13", "14", "15", "12", "16", "21", "17", "18", "19", "11", "31", "32", "36", "33", "34", "35",
                  "51", "52", "53", "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76", "81", "82",
                  "91", "92", "93", "94", "95", "96")
KANWIL = {  # 11 regional offices (kantor wilayah)
    "SUMBAGUT": ("11", "12"), "SUMBARRIAU": ("13", "14", "21"), "SUMBAGSEL": ("15", "16", "17", "18", "19"),
    "DKI_JAKARTA": ("31",), "BANTEN": ("36",), "JAWA_BARAT": ("32",), "JATENG_DIY": ("33", "34"),
    "JAWA_TIMUR": ("35",), "BALI_NUSRA": ("51", "52", "53"), "KALIMANTAN": ("61", "62", "63", "64", "65"),
}
DEFAULT_KANWIL = "SULAMPUA"

# Employed persons by province, millions (BPS Sakernas, August 2024, rounded): the weights that give a
# national-shape sample realistic branch sizes. Approximate, for the shape only; the figures the award
# divides by come from the ministry's penduduk_bekerja.csv.
EMPLOYED_MILLIONS = {
    "11": 2.5, "12": 7.6, "13": 2.8, "14": 3.2, "15": 1.9, "16": 4.5, "17": 1.1, "18": 4.7, "19": 0.8, "21": 1.1,
    "31": 5.1, "32": 24.6, "33": 19.6, "34": 2.3, "35": 22.6, "36": 5.6, "51": 2.7, "52": 2.8, "53": 2.9,
    "61": 2.6, "62": 1.4, "63": 2.2, "64": 1.8, "65": 0.3, "71": 1.2, "72": 1.5, "73": 4.3, "74": 1.3, "75": 0.6,
    "76": 0.7, "81": 0.8, "82": 0.6, "91": 0.5, "92": 0.3, "93": 0.3, "94": 0.6, "95": 0.8, "96": 0.3,
}
# A city's kelurahan hold more workers than a rural desa.
CITY_VILLAGE_WEIGHT = 3.0
# BPJS Ketenagakerjaan's kantor cabang, about the number of a national night's deliveries.
NATIONAL_BRANCHES = 325

SEGMENTS = (("PU", 26.0), ("BPU", 9.6), ("JAKON", 5.5), ("PMI", 0.4))
ACTIVE_SHARE = 0.85
SECOND_KPJ_SHARE = 0.03
TRANSFER_SHARE = 0.02
DAILY_PAYERS_SHARE = 1 / 22  # monthly contributions spread over working days
BPU_FUNDING = (("MANDIRI", 70), ("APBD", 12), ("APBDES", 8), ("DBH_SAWIT", 3), ("CSR", 3), ("BAZNAS", 2), ("APBN", 2))
BPU_OCCUPATIONS = (("PEDAGANG", 25), ("PETANI", 20), ("OJEK", 15), ("NELAYAN", 8), ("TENAGA_KEAGAMAAN", 8),
                   ("PERANGKAT_DESA", 7), ("LEMBAGA_ADAT", 3), ("ADHOC_PEMILU", 2), ("PEKERJA_RUMAH_TANGGA", 4),
                   ("LAINNYA", 8))
PU_OCCUPATIONS = (("BURUH", 60), ("NON_ASN", 15), ("LAINNYA", 25))
PROGRAMS = {
    "PU": (("JKK;JKM;JHT;JP;JKP", 70), ("JKK;JKM;JHT", 20), ("JKK;JKM;JHT;JP", 10)),
    "BPU": (("JKK;JKM", 65), ("JKK;JKM;JHT", 35)),
    "JAKON": (("JKK;JKM", 100),),
    "PMI": (("JKK;JKM;JHT", 100),),
}
# Contribution per program: a share of the wage (PU, JAKON) or a fixed amount (BPU, PMI), in rupiah.
WAGE_SHARES = {"JKK": 0.0024, "JKM": 0.003, "JHT": 0.057, "JP": 0.03, "JKP": 0.0046}
FIXED_AMOUNTS = {"BPU": {"JKK": 10_000, "JKM": 6_800, "JHT": 20_000},
                 "PMI": {"JKK": 37_500, "JKM": 32_500, "JHT": 50_000}}

# Employers (pemberi_kerja.csv, award-v2.md section 2): one per about 30 PU/JAKON participants, which gives the
# few hundred thousand of a national night of 10 M participants; a handful at least in every branch's area.
PARTICIPANTS_PER_EMPLOYER = 30
MIN_EMPLOYERS_PER_BRANCH = 5
EMPLOYER_HEADER = ("npp", "nama_badan_usaha", "kode_kabkota", "skala_usaha", "jumlah_pekerja")
# Size class shares (most employers are micro or small) and each class's workforce range; BESAR's upper end is
# a heavy Pareto tail, capped near the largest Indonesian employers.
EMPLOYER_CLASSES = (("MIKRO", 60), ("KECIL", 28), ("MENENGAH", 9), ("BESAR", 3))
WORKFORCE_RANGES = {"MIKRO": (1, 9), "KECIL": (10, 99), "MENENGAH": (100, 999)}
BESAR_MIN, BESAR_MAX, BESAR_TAIL = 1_000, 200_000, 1.3
# NPPs: a counter mapped through a multiplier coprime to the 8-digit range, so unique without a set of them.
NPP_BASE, NPP_SPAN, NPP_STRIDE = 10_000_000, 90_000_000, 55_623_059
LEGAL_FORMS = {"BESAR": (("PT", 95), ("Koperasi", 5)), "MENENGAH": (("PT", 70), ("CV", 20), ("Koperasi", 10)),
               "KECIL": (("CV", 45), ("PT", 20), ("UD", 25), ("Koperasi", 10)),
               "MIKRO": (("UD", 55), ("CV", 30), ("Koperasi", 15))}
BUSINESS_FIRST = ("Sumber", "Maju", "Sinar", "Karya", "Bumi", "Cahaya", "Mitra", "Tunas", "Anugerah", "Putra",
                  "Berkah", "Surya", "Sari", "Mega")
BUSINESS_SECOND = ("Makmur", "Jaya", "Abadi", "Mandiri", "Sejahtera", "Baru", "Sentosa", "Harapan", "Lestari",
                   "Perkasa", "Utama", "Nusantara", "Bersama", "Agung")

FIRST_NAMES = {
    "L": ("Ngadimin", "Budi", "Rahmat", "Agus", "Yusuf", "Hendra", "Joko", "Andi", "Syafrizal", "Rudi", "Zulkifli",
          "Dedi", "Bambang", "Irfan"),
    "P": ("Siti", "Dewi", "Sri", "Nurhayati", "Fitri", "Wahyuni", "Rina", "Yulia", "Lestari", "Ayu", "Rosmawati",
          "Indah"),
}
LAST_NAMES = ("Sastrowardoyo", "Aminah", "Santoso", "Hidayat", "Saputra", "Rahayu", "Nasution", "Siregar",
              "Chaniago", "Piliang", "Koto", "Tanjung", "Harahap", "Wibowo", "Kurniawan", "Sembiring")


@dataclass(frozen=True)
class GenerationSummary:
    branches: int
    participants: int
    payments: int
    employers: int
    provinces: tuple[str, ...]
    landing_root: Path
    reference_root: Path


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    kanwil: str
    province: str
    districts: tuple[str, ...]


@functools.cache
def _odds(weighted: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    return [v for v, _ in weighted], list(itertools.accumulate(w for _, w in weighted))


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    values, cumulative = _odds(weighted)
    return rng.choices(values, cum_weights=cumulative)[0]


def _branch_code(district_name: str, taken: set[str]) -> str:
    stem = re.sub(r"^(Kabupaten|Kota)\s+", "", district_name)
    code = re.sub(r"[^A-Z0-9]+", "_", stem.upper()).strip("_")[:20] or "CABANG"
    candidate, suffix = code, 2
    while candidate in taken:
        candidate = f"{code[:17]}_{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate


def _kanwil(province: str) -> str:
    return next((name for name, provinces in KANWIL.items() if province in provinces), DEFAULT_KANWIL)


def plan_branches(count: int, districts: list[tuple[str, str, str]]) -> list[Branch]:
    """Split the districts of a few provinces into `count` branches of neighbouring districts."""
    by_province: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code, province, name in districts:
        by_province[province].append((code, name))
    provinces = [p for p in PROVINCE_ORDER if p in by_province][: max(1, math.ceil(count / 2))]
    total_districts = sum(len(by_province[p]) for p in provinces)
    shares = {p: max(1, round(count * len(by_province[p]) / total_districts)) for p in provinces}
    while sum(shares.values()) > count:  # rounding may overshoot: take back from the largest share
        largest = max(shares, key=lambda p: (shares[p], p))
        shares[largest] -= 1
    while sum(shares.values()) < count:
        smallest = min((p for p in provinces if shares[p] < len(by_province[p])), key=lambda p: (shares[p], p))
        shares[smallest] += 1
    branches: list[Branch] = []
    taken: set[str] = set()
    for province in provinces:
        own = sorted(by_province[province])
        parts = min(shares[province], len(own))
        for index in range(parts):
            chunk = own[index * len(own) // parts:(index + 1) * len(own) // parts]
            # Branch offices sit in cities: name the branch after the first kota it serves, if any.
            seat = next((name for _, name in chunk if name.startswith("Kota ")), chunk[0][1])
            code = _branch_code(seat, taken)
            branches.append(Branch(code, f"Kantor Cabang {re.sub(r'^(Kabupaten|Kota) ', '', seat)}",
                                   _kanwil(province), province, tuple(c for c, _ in chunk)))
    return branches


class _Person:
    __slots__ = ("nik", "name", "birth", "sex")

    def __init__(self, nik: str, name: str, birth: dt.date, sex: str):
        self.nik, self.name, self.birth, self.sex = nik, name, birth, sex


class _NightWriter:
    """Makes one branch's participants and payments; state kept small (a ring of recent persons)."""

    def __init__(self, rng: random.Random, export_date: dt.date, villages: dict[str, list[str]]):
        self.rng = rng
        self.export_date = export_date
        self.villages = villages
        self.kpj_counter = 0
        self.person_counter = 0
        self.recent: list[_Person] = []
        self.covered_by_district: Counter[str] = Counter()

    def next_kpj(self) -> str:
        self.kpj_counter += 1
        return f"{10_000_000_000 + self.kpj_counter * 13:011d}"

    def new_person(self, village: str) -> _Person:
        rng = self.rng
        self.person_counter += 1
        age_days = int(rng.triangular(18, 64, 33) * 365.25)
        birth = self.export_date - dt.timedelta(days=age_days)
        sex = "L" if rng.random() < 0.6 else "P"
        day = birth.day + (40 if sex == "P" else 0)
        nik = (f"{village[:8].replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
               f"{self.person_counter % 10_000:04d}")
        name = f"{rng.choice(FIRST_NAMES[sex])} {rng.choice(LAST_NAMES)}"
        return _Person(nik, name, birth, sex)

    def participant(self, village: str, employers: _Employers) -> tuple[list[str], str, int]:
        rng = self.rng
        if self.recent and rng.random() < SECOND_KPJ_SHARE:
            person = rng.choice(self.recent)  # a person registering a further KPJ
        else:
            person = self.new_person(village)
            self.recent.append(person)
            if len(self.recent) > 500:
                self.recent.pop(0)
        segment = _pick(rng, SEGMENTS)
        if segment == "PU":
            occupation = _pick(rng, PU_OCCUPATIONS)
            funding = "APBD" if occupation == "NON_ASN" else "PEMBERI_KERJA"
            wage = rng.randrange(2_500_000, 6_000_000, 50_000)
        elif segment == "BPU":
            occupation, funding = _pick(rng, BPU_OCCUPATIONS), _pick(rng, BPU_FUNDING)
            wage = rng.randrange(1_000_000, 2_500_000, 50_000)
        elif segment == "JAKON":
            occupation, funding = "BURUH", "PEMBERI_KERJA"
            wage = rng.randrange(2_500_000, 4_000_000, 50_000)
        else:
            occupation = "PEKERJA_RUMAH_TANGGA" if rng.random() < 0.6 else "LAINNYA"
            funding, wage = "MANDIRI", rng.randrange(3_000_000, 8_000_000, 100_000)
        adult = dt.date(person.birth.year + 18, person.birth.month, min(person.birth.day, 28))
        earliest = max(adult, dt.date(2015, 1, 1))
        registered = earliest + dt.timedelta(days=rng.randrange(max(1, (self.export_date - earliest).days + 1)))
        active = rng.random() < ACTIVE_SHARE
        if active:
            paid_month = self.export_date.replace(day=1) - dt.timedelta(days=rng.choice((0, 0, 0, 20)))
            last_paid = f"{paid_month:%Y-%m}" if paid_month >= registered.replace(day=1) else ""
        else:
            last_paid = f"{registered:%Y-%m}" if rng.random() < 0.7 else ""
        row = [
            self.next_kpj(), person.nik, person.name, person.birth.isoformat(), person.sex, segment,
            _pick(rng, PROGRAMS[segment]), village, employers.pick(rng) if segment in ("PU", "JAKON") else "",
            occupation, funding, registered.isoformat(), "AKTIF" if active else "NONAKTIF", last_paid, str(wage),
        ]
        row.append(_csr_employer(row[0], segment, funding, employers.sponsors))
        if active:
            self.covered_by_district[village[:5]] += 1
        return row, segment, wage


def _csr_employer(kpj: str, segment: str, funding: str, sponsors: list[str]) -> str:
    """npp_pemberi_bantuan: one of the branch's larger employers on every other CSR row, chosen by the KPJ rather
    than by the random generator, so that the other values of a row do not depend on it."""
    if segment != "BPU" or funding != "CSR" or int(kpj) % 2:
        return ""
    return sponsors[int(kpj) // 2 % len(sponsors)]


class _Employers:
    """One branch's employers as the participants need them; their full rows are in pemberi_kerja.csv already."""

    __slots__ = ("npps", "cumulative", "sponsors")

    def __init__(self, npps: list[str], cumulative: list[int], sponsors: list[str]):
        self.npps, self.cumulative, self.sponsors = npps, cumulative, sponsors

    def pick(self, rng: random.Random) -> str:
        """An employer for a PU/JAKON participant: the larger its workforce, the likelier. What choices() does
        with cum_weights, without its per-call list: this runs for three participants of four."""
        return self.npps[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def _workforce(rng: random.Random, size: str) -> int:
    if size == "BESAR":
        return min(BESAR_MAX, int(BESAR_MIN * rng.paretovariate(BESAR_TAIL)))
    low, high = WORKFORCE_RANGES[size]
    # Log-uniform: within a class, the smaller firms are the more common.
    return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))


def _make_employers(rng: random.Random, count: int, seats: list[str], seat_odds: list[float], first: int,
                    npp_offset: int, out) -> _Employers:
    """`count` employers seated in `seats`, written to `out` (pemberi_kerja.csv); `first` numbers them across
    branches, which keeps NPPs and names unique nationally."""
    npps: list[str] = []
    cumulative: list[int] = []
    sponsors: list[str] = []
    total = 0
    largest = (-1, "")
    for number in range(first, first + count):
        size = _pick(rng, EMPLOYER_CLASSES)
        workforce = _workforce(rng, size)
        npp = f"{NPP_BASE + (npp_offset + number * NPP_STRIDE) % NPP_SPAN:08d}"
        name = (f"{_pick(rng, LEGAL_FORMS[size])} {rng.choice(BUSINESS_FIRST)} {rng.choice(BUSINESS_SECOND)} "
                f"{number:04d}")
        out.writerow((npp, name, rng.choices(seats, cum_weights=seat_odds)[0], size, workforce))
        npps.append(npp)
        total += workforce
        cumulative.append(total)
        if size in ("BESAR", "MENENGAH"):
            sponsors.append(npp)
        largest = max(largest, (workforce, npp))
    return _Employers(npps, cumulative, sponsors or [largest[1]])


def _payments(row: list[str], segment: str, wage: int, branch: str, export_date: dt.date, sequence: int,
              rng: random.Random) -> list[list[str]]:
    period = (export_date.replace(day=1) if rng.random() < 0.7
              else (export_date.replace(day=1) - dt.timedelta(days=1)).replace(day=1))
    rows = []
    for offset, program in enumerate(row[6].split(";")):
        if segment in FIXED_AMOUNTS:
            amount = FIXED_AMOUNTS[segment].get(program, 10_000)
        else:
            amount = max(1, round(wage * WAGE_SHARES[program]))
        rows.append([f"{branch}-{export_date:%Y%m%d}-{sequence + offset:07d}", row[0], f"{period:%Y-%m}", program,
                     str(amount), export_date.isoformat(), row[10]])
    return rows


def _write_manifest(folder: Path, branch: str, export_date: dt.date, counts: dict[str, int]) -> None:
    files = [{"name": name, "rows": rows, "sha256": sha256_of(folder / name)} for name, rows in counts.items()]
    manifest = {"contract_version": 1.1, "kode_cabang": branch, "export_date": export_date.isoformat(), "files": files}
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def _district_weight(district: str, names: dict[str, str], villages: dict[str, list[str]]) -> float:
    """A district's share of its province's workers and employers: its villages, a city's counting more."""
    return len(villages[district]) * (CITY_VILLAGE_WEIGHT if names[district].startswith("Kota ") else 1.0)


def _national_weights(plan: list[Branch], districts: list[tuple[str, str, str]],
                      villages: dict[str, list[str]]) -> list[float]:
    """Each branch's share of the country's workers: its province's employed persons, spread over the
    province's villages (a city's count more)."""
    names = {code: name for code, _, name in districts}
    province_weight: Counter[str] = Counter()
    for code, province, _ in districts:
        province_weight[province] += _district_weight(code, names, villages)
    return [sum(EMPLOYED_MILLIONS.get(b.province, 0.5) * _district_weight(d, names, villages)
                / province_weight[b.province] for d in b.districts) for b in plan]


def generate(
    out_dir: Path, export_date: dt.date, *, branches: int = 6, participants: int = 20_000, seed: int = 1,
    cache_dir: Path, national: bool = False, progress: Callable[[str], None] = print,
) -> GenerationSummary:
    """Branch exports for one night. `national`: every province, district and village, served by
    NATIONAL_BRANCHES branches sized by each province's workforce; otherwise `branches` branches over the
    first provinces of PROVINCE_ORDER, sized by their villages."""
    branches = NATIONAL_BRANCHES if national else branches
    if branches < 1 or participants < branches:
        raise ValueError("need at least one branch and one participant per branch")
    rng = random.Random(seed)
    tarball = region_package.ensure_package(cache_dir)
    districts = list(region_package.iter_level(tarball, "district"))
    plan = plan_branches(branches, districts)
    served = {d for b in plan for d in b.districts}
    villages: dict[str, list[str]] = defaultdict(list)
    for code, _, _ in region_package.iter_level(tarball, "village"):
        if code[:5] in served:
            villages[code[:5]].append(code)

    landing, reference = out_dir / "landing", out_dir / "reference"
    writer = _NightWriter(rng, export_date, villages)
    weights = (_national_weights(plan, districts, villages) if national
               else [sum(len(villages[d]) for d in b.districts) for b in plan])
    total_weight = sum(weights)
    quota = [max(1, int(participants * w // total_weight)) for w in weights]
    quota[-1] += participants - sum(quota)
    names = {code: name for code, _, name in districts}
    employing_share = sum(w for s, w in SEGMENTS if s in ("PU", "JAKON")) / sum(w for _, w in SEGMENTS)
    npp_offset = rng.randrange(NPP_SPAN)
    transfers: list[list[str]] = []  # rows leaving branch i, written again into branch i + 1
    payments_written = 0
    written = 0
    employers_written = 0
    reference.mkdir(parents=True, exist_ok=True)
    with (reference / "pemberi_kerja.csv").open("w", newline="", encoding="utf-8") as employer_file:
        employer_out = csv.writer(employer_file, lineterminator="\n")
        employer_out.writerow(EMPLOYER_HEADER)
        for index, (branch, count) in enumerate(zip(plan, quota, strict=True)):
            folder = landing / branch.code / export_date.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            area = [v for d in branch.districts for v in villages[d]]
            # Cumulative once per branch: choices() with plain weights would add them up again for every row.
            village_odds = list(itertools.accumulate(rng.paretovariate(1.5) for _ in area))
            employer_count = max(MIN_EMPLOYERS_PER_BRANCH, round(count * employing_share / PARTICIPANTS_PER_EMPLOYER))
            employers = _make_employers(
                rng, employer_count, list(branch.districts),
                list(itertools.accumulate(_district_weight(d, names, villages) for d in branch.districts)),
                employers_written, npp_offset, employer_out)
            employers_written += employer_count
            incoming, transfers = transfers, []
            peserta_rows = iuran_rows = 0
            with (folder / "peserta.csv").open("w", newline="", encoding="utf-8") as peserta_file, \
                    (folder / "iuran.csv").open("w", newline="", encoding="utf-8") as iuran_file:
                peserta_out = csv.writer(peserta_file, lineterminator="\n")
                iuran_out = csv.writer(iuran_file, lineterminator="\n")
                peserta_out.writerow(PESERTA_HEADER)
                iuran_out.writerow(IURAN_HEADER)
                # A transfer: same KPJ, person and employer, now living in this branch's area.
                for moved in incoming:
                    moved[7] = rng.choices(area, cum_weights=village_odds)[0]
                    peserta_out.writerow(moved)
                    peserta_rows += 1
                for _ in range(count):
                    village = rng.choices(area, cum_weights=village_odds)[0]
                    row, segment, wage = writer.participant(village, employers)
                    peserta_out.writerow(row)
                    peserta_rows += 1
                    if index + 1 < len(plan) and rng.random() < TRANSFER_SHARE:
                        transfers.append(list(row))
                    if row[12] == "AKTIF" and rng.random() < DAILY_PAYERS_SHARE:
                        for payment in _payments(row, segment, wage, branch.code, export_date, iuran_rows + 1, rng):
                            iuran_out.writerow(payment)
                            iuran_rows += 1
            _write_manifest(folder, branch.code, export_date, {"peserta.csv": peserta_rows, "iuran.csv": iuran_rows})
            written += count
            payments_written += iuran_rows
            progress(f"  {branch.code}: {peserta_rows:,} participants, {iuran_rows:,} payments, "
                     f"{employer_count:,} employers")

    with (reference / "kantor_cabang.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(("kode_cabang", "nama_cabang", "kanwil", "kode_kabkota"))
        for branch in plan:
            out.writerow((branch.code, branch.name, branch.kanwil, ";".join(branch.districts)))
    years = sorted({2024, 2025, export_date.year})
    with (reference / "penduduk_bekerja.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(("kode_kabkota", "tahun", "penduduk_bekerja"))
        for district in sorted(served):
            covered = writer.covered_by_district[district]
            employed = max(1_000, round(covered / rng.uniform(0.25, 0.45)))
            for year in years:
                out.writerow((district, year, round(employed * (1 - 0.02 * (years[-1] - year)))))
    return GenerationSummary(branches=len(plan), participants=written, payments=payments_written,
                             employers=employers_written, provinces=tuple(sorted({b.province for b in plan})),
                             landing_root=landing, reference_root=reference)


# What changes for a participant between two nights, and how often (of the changed participants).
NEXT_NIGHT_CHANGES = (("status", 50), ("village", 30), ("funding", 20))


@dataclass(frozen=True)
class NextNightSummary:
    branches: int
    participants: int
    changed: int
    payments: int
    landing_root: Path


def _changed(row: list[str], rng: random.Random, villages_seen: list[str]) -> list[str]:
    """The participant of `row` the next night: its status, village or (for a BPU worker) funding changed."""
    row = list(row)
    change = _pick(rng, NEXT_NIGHT_CHANGES)
    if change == "village" and len(villages_seen) > 1:
        row[7] = rng.choice([v for v in villages_seen if v != row[7]])
    elif change == "funding" and row[5] == "BPU":
        row[10] = rng.choice([source for source, _ in BPU_FUNDING if source != row[10]])
        if len(row) > CSR_EMPLOYER:  # the employer goes with CSR funding (a night of export v1 has no column)
            row[CSR_EMPLOYER] = ""
    else:
        row[12] = "NONAKTIF" if row[12] == "AKTIF" else "AKTIF"
    return row


def generate_next_night(landing: Path, export_date: dt.date, *, changed_share: float = 0.01, seed: int = 1,
                        progress: Callable[[str], None] = print) -> NextNightSummary:
    """The night after `export_date` for every branch exporting on it under `landing`: its participants again
    (streamed from that night's file), `changed_share` of them with their status, village or funding source
    changed, and that day's payments."""
    rng = random.Random(seed)
    next_date = export_date + dt.timedelta(days=1)
    folders = sorted(p.parent for p in landing.glob(f"*/{export_date.isoformat()}/peserta.csv"))
    if not folders:
        raise FileNotFoundError(f"No branch exported on {export_date} under {landing}: generate that night first.")
    participants = changed = payments = 0
    for folder in folders:
        branch = folder.parent.name
        out = folder.parent / next_date.isoformat()
        out.mkdir(parents=True, exist_ok=True)
        villages_seen: list[str] = []
        peserta_rows = iuran_rows = 0
        with (folder / "peserta.csv").open(newline="", encoding="utf-8") as before, \
                (out / "peserta.csv").open("w", newline="", encoding="utf-8") as peserta_file, \
                (out / "iuran.csv").open("w", newline="", encoding="utf-8") as iuran_file:
            rows = csv.reader(before)
            peserta_out = csv.writer(peserta_file, lineterminator="\n")
            iuran_out = csv.writer(iuran_file, lineterminator="\n")
            peserta_out.writerow(next(rows))
            iuran_out.writerow(IURAN_HEADER)
            for row in rows:
                if len(villages_seen) < 50 and row[7] not in villages_seen:
                    villages_seen.append(row[7])
                if rng.random() < changed_share:
                    row = _changed(row, rng, villages_seen)
                    changed += 1
                peserta_out.writerow(row)
                peserta_rows += 1
                if row[12] == "AKTIF" and rng.random() < DAILY_PAYERS_SHARE:
                    for payment in _payments(row, row[5], int(row[14]), branch, next_date, iuran_rows + 1, rng):
                        iuran_out.writerow(payment)
                        iuran_rows += 1
        _write_manifest(out, branch, next_date, {"peserta.csv": peserta_rows, "iuran.csv": iuran_rows})
        participants += peserta_rows
        payments += iuran_rows
        progress(f"  {branch}: {peserta_rows:,} participants, {iuran_rows:,} payments")
    return NextNightSummary(len(folders), participants, changed, payments, landing)
