"""Load the reference inputs (contract section 6) into the `reference` schema.

Regions come from the verified idn-area-data package; `kantor_cabang.csv`, `penduduk_bekerja.csv` and the
optional `pemberi_kerja.csv` (award-v2.md section 2) from CAKUPAN_REFERENCE_ROOT. Each source is reloaded only
when its bytes changed, so re-running is cheap.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from cakupan.errors import UserError
from cakupan.ingest.export_contract import EMPLOYER_SIZES
from cakupan.ingest.readers import sha256_of
from cakupan.reference import region_package
from cakupan.settings import Settings

Progress = Callable[[str], None]

# The employer reference (award-v2.md section 2): optional, for the award's business category.
EMPLOYERS_FILE = "pemberi_kerja.csv"
EMPLOYER_COLUMNS = ("npp", "nama_badan_usaha", "kode_kabkota", "skala_usaha", "jumlah_pekerja")


class ReferenceError(UserError, ValueError):
    pass


@dataclass(frozen=True)
class ReferenceSummary:
    provinces: int
    districts: int
    subdistricts: int
    villages: int
    branches: int
    employed_population_rows: int
    employers: int
    reloaded: tuple[str, ...]


def _already_loaded(conn: psycopg.Connection, source: str, sha256: str) -> bool:
    row = conn.execute("SELECT sha256 FROM reference.sources WHERE source = %s", (source,)).fetchone()
    return row is not None and row[0] == sha256


def _mark_loaded(conn: psycopg.Connection, source: str, sha256: str, rows: int) -> None:
    conn.execute(
        """INSERT INTO reference.sources (source, sha256, rows_loaded) VALUES (%s, %s, %s)
           ON CONFLICT (source) DO UPDATE SET sha256 = excluded.sha256, rows_loaded = excluded.rows_loaded,
           loaded_at = now()""",
        (source, sha256, rows),
    )


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    count = 0
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def load_regions(conn: psycopg.Connection, cache_dir: Path, progress: Progress = print) -> bool:
    tarball = region_package.ensure_package(cache_dir)
    source = f"{region_package.PACKAGE}@{region_package.VERSION}"
    if _already_loaded(conn, source, region_package.SHA256):
        return False
    progress(f"Loading regions from {source} ...")
    targets = {
        "province": ("reference.provinces", ("province_code", "province_name"), lambda c, p, n: (c, n)),
        "district": ("reference.districts", ("district_code", "province_code", "district_name"),
                     lambda c, p, n: (c, p, n)),
        "subdistrict": ("reference.subdistricts", ("subdistrict_code", "district_code", "subdistrict_name"),
                        lambda c, p, n: (c, p, n)),
        "village": ("reference.villages", ("village_code", "subdistrict_code", "village_name"),
                    lambda c, p, n: (c, p, n)),
    }
    with conn.transaction():
        conn.execute("TRUNCATE reference.provinces, reference.districts, reference.subdistricts, reference.villages")
        total = 0
        for level, (table, columns, shape) in targets.items():
            count = _copy(conn, table, columns, (shape(*row) for row in region_package.iter_level(tarball, level)))
            expected = region_package.LEVELS[level][1]
            if count != expected:
                raise ReferenceError(f"{source}: {count} {level} rows, expected {expected}.")
            total += count
        _mark_loaded(conn, source, region_package.SHA256, total)
    return True


def _reference_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise ReferenceError(f"{path} is missing: set CAKUPAN_REFERENCE_ROOT to the folder holding it.")
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}.")
    for number, record in enumerate(reader, start=1):
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(header):
            raise ReferenceError(f"{path}, row {number}: {len(record)} fields, the header has {len(header)}.")
        yield number, {h: v.strip() for h, v in zip(header, record, strict=True)}


def _known_districts(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT district_code FROM reference.districts")}


def _not_a_district(code: str) -> str:
    return f"'{code}' is not a Kemendagri kabupaten/kota code (PP.KK) in idn-area-data 4.0.1"


def _unknown_district(path: Path, number: int, code: str) -> ReferenceError:
    return ReferenceError(f"{path}, row {number}: district code {_not_a_district(code)}.")


def load_branches(conn: psycopg.Connection, path: Path) -> int:
    districts = _known_districts(conn)
    branches: list[tuple[str, str, str]] = []
    served: list[tuple[str, str]] = []
    for number, row in _reference_rows(path, ("kode_cabang", "nama_cabang", "kanwil", "kode_kabkota")):
        code = row["kode_cabang"]
        if not code:
            raise ReferenceError(f"{path}, row {number}: kode_cabang is empty.")
        branches.append((code, row["nama_cabang"], row["kanwil"]))
        for district in filter(None, (d.strip() for d in row["kode_kabkota"].split(";"))):
            if district not in districts:
                raise _unknown_district(path, number, district)
            served.append((code, district))
    with conn.transaction():
        conn.execute("TRUNCATE reference.branches, reference.branch_districts")
        _copy(conn, "reference.branches", ("kode_cabang", "nama_cabang", "kanwil"), branches)
        _copy(conn, "reference.branch_districts", ("kode_cabang", "district_code"), sorted(set(served)))
    return len(branches)


def load_employed_population(conn: psycopg.Connection, path: Path) -> int:
    districts = _known_districts(conn)
    rows: list[tuple[str, int, int]] = []
    for number, row in _reference_rows(path, ("kode_kabkota", "tahun", "penduduk_bekerja")):
        if row["kode_kabkota"] not in districts:
            raise _unknown_district(path, number, row["kode_kabkota"])
        try:
            rows.append((row["kode_kabkota"], int(row["tahun"]), int(row["penduduk_bekerja"].replace(".", ""))))
        except ValueError:
            raise ReferenceError(f"{path}, row {number}: tahun and penduduk_bekerja must be whole numbers.") from None
    with conn.transaction():
        conn.execute("TRUNCATE reference.employed_population")
        _copy(conn, "reference.employed_population", ("district_code", "year", "employed_population"), rows)
    return len(rows)


def _employer_problem(row: dict[str, str], districts: set[str]) -> tuple[str, str] | None:
    """The first column of a pemberi_kerja.csv row that breaks its rule (award-v2.md section 2), and why."""
    if not re.fullmatch(r"[0-9]{8}", row["npp"]):
        return "npp", f"'{row['npp']}' is not an NPP of 8 digits"
    if not row["nama_badan_usaha"]:
        return "nama_badan_usaha", "is empty"
    if row["kode_kabkota"] not in districts:
        return "kode_kabkota", _not_a_district(row["kode_kabkota"])
    if row["skala_usaha"] not in EMPLOYER_SIZES:
        return "skala_usaha", f"'{row['skala_usaha']}' is not one of {', '.join(EMPLOYER_SIZES)}"
    if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})*|[0-9]+", row["jumlah_pekerja"]):
        return "jumlah_pekerja", f"'{row['jumlah_pekerja']}' is not a whole number >= 0"
    return None


def load_employers(conn: psycopg.Connection, path: Path) -> int:
    """pemberi_kerja.csv, checked whole before any row replaces the employers loaded before. Optional: without
    the file the reference has no employers, and the award has no business category."""
    if not path.is_file():
        with conn.transaction():
            conn.execute("TRUNCATE reference.employers")
        return 0
    districts = _known_districts(conn)
    rows: dict[str, tuple[str, str, str, str, int]] = {}
    for number, row in _reference_rows(path, EMPLOYER_COLUMNS):
        where = f"{path}, line {number + 1}"  # the header is line 1
        problem = _employer_problem(row, districts)
        if problem:
            column, why = problem
            raise ReferenceError(f"{where}, column {column}: {why}. Correct the row and run "
                                 "`cakupan reference load` again.")
        if row["npp"] in rows:
            raise ReferenceError(f"{where}, column npp: {row['npp']} is listed twice; an NPP names one employer.")
        rows[row["npp"]] = (row["npp"], row["nama_badan_usaha"], row["kode_kabkota"], row["skala_usaha"],
                            int(row["jumlah_pekerja"].replace(".", "")))
    with conn.transaction():
        conn.execute("TRUNCATE reference.employers")
        _copy(conn, "reference.employers", ("npp", "employer_name", "district_code", "size_code", "workforce"),
              rows.values())
    return len(rows)


def load_reference(conn: psycopg.Connection, settings: Settings, progress: Progress = print) -> ReferenceSummary:
    reloaded: list[str] = []
    if load_regions(conn, settings.cache_dir, progress):
        reloaded.append("regions")
    # Branch files are small: always reload them (validated against the regions) unless unchanged.
    for name, loader in (("kantor_cabang.csv", load_branches), ("penduduk_bekerja.csv", load_employed_population),
                         (EMPLOYERS_FILE, load_employers)):
        path = settings.reference_root / name
        sha256 = sha256_of(path) if path.is_file() else ""
        source = f"file:{name}"
        # An absent employer file is recorded as such (no checksum), so that it empties the employers once.
        if (sha256 or name == EMPLOYERS_FILE) and _already_loaded(conn, source, sha256):
            continue
        count = loader(conn, path)
        _mark_loaded(conn, source, sha256, count)
        reloaded.append(name)
    counts = conn.execute(
        """SELECT (SELECT count(*) FROM reference.provinces), (SELECT count(*) FROM reference.districts),
                  (SELECT count(*) FROM reference.subdistricts), (SELECT count(*) FROM reference.villages),
                  (SELECT count(*) FROM reference.branches), (SELECT count(*) FROM reference.employed_population),
                  (SELECT count(*) FROM reference.employers)"""
    ).fetchone()
    return ReferenceSummary(*counts, reloaded=tuple(reloaded))
