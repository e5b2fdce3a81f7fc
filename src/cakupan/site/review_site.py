"""The reviewers' pages of the docs site: national, one per province and per district, the award by category,
and the indicators, written through the Jinja2 templates of `templates/` (this module prepares their data).

Every figure comes from the published marts of the last published date and the award year it falls in; every
page links the dbt docs of the models behind it and the Data Docs of their latest validation. Nothing is
fetched at view time, so the site works from the file system as well as from `cakupan docs serve`. Only
aggregates are read here: no person ever appears on a page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path

import psycopg

from cakupan.site import site_format as fmt
from cakupan.site.boundaries import Boundaries, Choropleth, district_choropleth
from cakupan.site.charts import bar_chart, line_chart
from cakupan.site.rendering import Bilingual, copy_assets, write_page
from cakupan.site.search_index import write_search_index
from cakupan.site.site_paths import DISTRICT_PAGE, PROVINCE_PAGE, VILLAGE_ROW, VILLAGE_ROW_ID
from cakupan.site.tables import Column, Table, with_csv
from cakupan.site.tile_map import province_tiles
from cakupan.transform.award_rubric import AWARD_LEVELS

# `cakupan award what-if` writes its reports under this folder of the site, a folder per year (what_if_page.py).
WHAT_IF_FOLDER = "what-if"
# The award's pages, one per category, under this folder.
AWARD_FOLDER = "penghargaan"
# Ties share a rank, so a rank can hold thousands of small businesses: an award page shows at most these many
# rows of a province's first three, and of the national ranking, and its CSV holds them all (how many tied,
# and what the page weighed before: docs/benchmark-notes.md, the second full run of 2026-12-07).
AWARD_ROWS_SHOWN_PER_PROVINCE = 5
AWARD_NATIONAL_ROWS_SHOWN = 50
B = Bilingual


@dataclass(frozen=True)
class AwardStatus:
    """Which award figures a page shows, so that a figure can be cited: the year, the rubric and snapshot they
    were scored with, and whether the committee signed them off (marts.award_finalisations, in force)."""

    year: int
    rubric_version: str | None
    snapshot_date: dt.date | None
    finalised_by: str | None = None
    finalised_at: dt.datetime | None = None
    digest: str | None = None

    @property
    def final(self) -> bool:
        return self.finalised_by is not None


@dataclass(frozen=True)
class SiteContext:
    published: dt.date | None
    banner: Bilingual | None  # the not-published notice, if the night was not published
    warnings: list[Bilingual]  # gate warnings of the published night, in both languages (gate_messages)
    stale_branches: int
    gx_pages: dict[str, str]  # suite name -> its latest Data Docs page, relative to the site root
    rubric: dict | None
    built_at: dt.datetime
    # (indicator, Indonesian, English): the award indicators' dbt doc blocks (docs_site.indicator_descriptions)
    indicators: list[tuple[str, str, str]] = field(default_factory=list)
    award: AwardStatus | None = None  # build_review_pages reads it
    what_if_years: list[int] = field(default_factory=list)  # the what-if reports the site holds
    data_package: str | None = None  # the night's datapackage.json, site-relative


@dataclass(frozen=True)
class NightQuality:
    """The night's gates and the branches' freshness, shown on the national page (docs_site prepares them)."""

    snapshot_date: dt.date
    gates: list[dict]
    branches: list[dict]


def latest_data_docs_pages(docs_dir: Path) -> dict[str, str]:
    """Each suite's most recent validation page in the GX Data Docs (paths end in a sortable run time)."""
    pages: dict[str, str] = {}
    validations = docs_dir / "gx" / "validations"
    if validations.is_dir():
        for suite in validations.iterdir():
            runs = sorted(suite.rglob("*.html"), key=lambda path: path.parent.name)
            if runs:
                pages[suite.name] = runs[-1].relative_to(docs_dir).as_posix()
    return pages


def what_if_years(docs_dir: Path) -> list[int]:
    """The what-if reports the site holds, newest year first: the rebuild leaves them, so it links them."""
    return sorted((int(path.parent.name) for path in (docs_dir / WHAT_IF_FOLDER).glob("*/index.html")
                   if path.parent.name.isdigit()), reverse=True)


def _rows(conn: psycopg.Connection, sql: str, params: dict | None = None) -> list[dict]:
    cursor = conn.execute(sql, params or {})
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def award_status(conn: psycopg.Connection, year: int) -> AwardStatus:
    rubric = conn.execute("SELECT max(rubric_version), max(snapshot_date) FROM marts.award_province WHERE year = %s",
                          (year,)).fetchone()
    signed = None
    if conn.execute("SELECT to_regclass('marts.award_finalisations')").fetchone()[0]:
        signed = conn.execute("SELECT finalised_by, finalised_at, digest, rubric_version, snapshot_date "
                              "FROM marts.award_finalisations WHERE year = %s AND superseded_at IS NULL",
                              (year,)).fetchone()
    if signed is None:
        return AwardStatus(year=year, rubric_version=rubric[0], snapshot_date=rubric[1])
    return AwardStatus(year=year, finalised_by=signed[0], finalised_at=signed[1], digest=signed[2],
                       rubric_version=signed[3], snapshot_date=signed[4])


# Columns shared by the award tables of provinces and districts.
_RATE_COLUMNS = [
    Column("coverage_rate", B("Rasio cakupan", "Coverage rate"), "percent"),
    Column("coverage_rate_change_pp", B("Perubahan setahun", "Change in a year"), "points"),
    Column("vulnerable_per_1000_employed", B("Pekerja rentan per 1.000", "Vulnerable per 1,000"), "decimal"),
    Column("villages_target_met_share", B("Desa memenuhi target", "Villages meeting target"), "percent"),
    Column("coverage_target_met", B("Target cakupan semesta", "ULC target"), "yes_no"),
    Column("coverage_gap_persons", B("Kekurangan (orang)", "Gap (persons)"), "number"),
]
_SCORE = Column("score", B("Nilai", "Score"), "score")
_COVERED = Column("covered_persons", B("Tenaga kerja terlindungi", "Covered workers"), "number")
_EMPLOYED = Column("employed_population", B("Penduduk bekerja", "Employed"), "number")
SIZE_CLASSES = {"BESAR": B("Usaha besar", "Large businesses"), "MENENGAH": B("Usaha menengah", "Medium businesses"),
                "KECIL_MIKRO": B("Usaha kecil dan mikro", "Small and micro businesses")}


def _ranked(rows: Sequence[dict], rank: str, *tie: str) -> list[dict]:
    return sorted(rows, key=lambda row: (row[rank] is None, row[rank] or 0, -(row["coverage_rate"] or 0),
                                         *(row[key] for key in tie)))


def _rate(row: dict) -> float | None:
    return float(row["coverage_rate"]) if row["coverage_rate"] is not None else None


def _monthly_rate(rows: Sequence[dict]) -> list[tuple[dt.date, float | None]]:
    """Coverage rate a month, over the areas with a known employed population (as the marts' rate is)."""
    covered, employed = defaultdict(int), defaultdict(int)
    for row in rows:
        if row["employed_population"]:
            covered[row["month"]] += row["covered_persons"]
            employed[row["month"]] += row["employed_population"]
    months = sorted({row["month"] for row in rows})
    return [(month, covered[month] / employed[month] if employed[month] else None) for month in months]


class _Pages:
    """Writes the pages of one build, remembering every file written (pages and their CSVs)."""

    def __init__(self, docs_dir: Path, context: SiteContext) -> None:
        self.docs_dir, self.context, self.written = docs_dir, context, []

    def write(self, relative: str, template: str, *, title: Bilingual, models: list[str], suites: list[str],
              crumbs: Sequence[tuple[Bilingual, str | None]] = (), tables: dict[str, Table] | None = None,
              **data: object) -> None:
        linked = {name: with_csv(table, self.docs_dir, relative) for name, table in (tables or {}).items()}
        self.written += [(self.docs_dir / relative).parent / table.csv_href for table in linked.values()]
        self.written.append(write_page(self.docs_dir, relative, template, site=self.context, title=title,
                                       models=models, suites=suites, crumbs=list(crumbs), tables=linked, **data))


def build_review_pages(conn: psycopg.Connection, docs_dir: Path, context: SiteContext,
                       quality: NightQuality | None = None, boundaries: Boundaries | None = None) -> list[Path]:
    """Write every reviewer page for the last published date, with the night's gates and branches (`quality`)
    on the national page, and a district map on each province page when `boundaries` are given (the file of
    CAKUPAN_BOUNDARIES). Returns the files written."""
    copy_assets(docs_dir)
    context = replace(context, what_if_years=what_if_years(docs_dir))
    pages = _Pages(docs_dir, context)
    national = B("Cakupan jaminan sosial ketenagakerjaan", "Labour social-security coverage")
    if context.published is None:
        pages.write("index.html", "national.html.j2", title=national, models=[], suites=[], quality=quality,
                    summary=None, tables=_quality_tables(quality) if quality else {}, charts={})
        pages.write("indikator.html", "indicators.html.j2", **_indicator_data(context))
        return pages.written

    context = replace(context, award=award_status(conn, context.published.year))
    pages.context = context
    params = {"d": context.published, "year": context.published.year}
    provinces = _rows(conn, """SELECT c.*, a.score, a.rank_national, a.is_top3, a.eligible, a.coverage_rate_change_pp,
        a.vulnerable_per_1000_employed, a.villages_target_met_share, a.coverage_target, a.coverage_target_met,
        a.coverage_gap_persons FROM marts.coverage_province c
        LEFT JOIN marts.award_province a ON a.province_code = c.province_code AND a.year = %(year)s
        WHERE c.snapshot_date = %(d)s ORDER BY c.province_code""", params)
    districts = _rows(conn, """SELECT c.*, a.score, a.rank_in_province, a.rank_national, a.is_top3, a.eligible,
        a.coverage_rate_change_pp, a.vulnerable_per_1000_employed, a.villages_target_met_share, a.coverage_target,
        a.coverage_target_met, a.coverage_gap_persons, a.government_workers, a.public_contributions_idr
        FROM marts.coverage_district c
        LEFT JOIN marts.award_district a ON a.district_code = c.district_code AND a.year = %(year)s
        WHERE c.snapshot_date = %(d)s ORDER BY c.district_code""", params)
    villages = _rows(conn, """SELECT c.*, a.score, a.rank_in_province, a.is_top3 FROM marts.coverage_village c
        LEFT JOIN marts.award_village a ON a.village_code = c.village_code AND a.year = %(year)s
        WHERE c.snapshot_date = %(d)s ORDER BY c.village_code""", params)
    participation = _rows(conn, "SELECT * FROM marts.participation_district WHERE snapshot_date = %(d)s", params)
    province_months = _rows(conn, "SELECT * FROM marts.coverage_province_month WHERE month <= %(d)s ORDER BY month",
                            params)
    district_months = _rows(conn, "SELECT * FROM marts.coverage_district_month WHERE month <= %(d)s ORDER BY month",
                            params)

    pages.written += write_search_index(provinces, districts, villages, docs_dir)
    _national_page(pages, national, provinces, province_months, quality)
    pages.write("indikator.html", "indicators.html.j2", **_indicator_data(context))
    _award_pages(conn, pages, params)

    by_province = _grouped(districts, "province_code")
    villages_of = _grouped(villages, "district_code")
    participation_of = _grouped(participation, "district_code")
    months_of_province = _grouped(province_months, "province_code")
    months_of_district = _grouped(district_months, "district_code")
    for province in provinces:
        members = by_province[province["province_code"]]
        best = sorted((v for d in members for v in villages_of[d["district_code"]] if v["rank_in_province"]),
                      key=lambda v: (v["rank_in_province"], v["village_code"]))[:10]
        choropleth = (district_choropleth(boundaries, province["province_code"], members, province["coverage_target"])
                      if boundaries else None)
        _province_page(pages, province, members, best, months_of_province[province["province_code"]], choropleth)
    names = {row["province_code"]: row["province_name"] for row in provinces}
    for district in districts:
        code = district["district_code"]
        _district_page(pages, district, names[district["province_code"]], villages_of[code], participation_of[code],
                       months_of_district[code])
    return pages.written


def _grouped(rows: Sequence[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return groups


def _national_page(pages: _Pages, title: Bilingual, provinces: list[dict], months: list[dict],
                   quality: NightQuality | None) -> None:
    known = [row for row in provinces if row["employed_population"]]
    employed = sum(row["employed_population"] for row in known)
    target = next((row["coverage_target"] for row in provinces if row["coverage_target"] is not None), None)
    summary = {"covered": sum(row["covered_persons"] for row in provinces),
               "rate": sum(row["covered_persons"] for row in known) / employed if employed else None,
               "target": target}
    ranking = Table("provinsi", B("Peringkat provinsi", "Provinces ranked"), [
        Column("province_name", B("Provinsi", "Province"), "link", href=PROVINCE_PAGE),
        Column("rank_national", B("Peringkat", "Rank"), "rank"), _SCORE, _COVERED, _EMPLOYED, *_RATE_COLUMNS,
        Column("stale_branches", B("Cabang terlambat", "Stale branches"), "number")],
        _ranked(provinces, "rank_national", "province_code"), B("Belum ada data.", "No data yet."))
    chart = bar_chart("provinces-rate", B("Rasio cakupan per provinsi", "Coverage rate by province"),
                      [(row["province_name"], _rate(row)) for row in
                       sorted(provinces, key=lambda row: -(row["coverage_rate"] or -1))],
                      lambda value: fmt.percent(value, 2), target=float(target) if target is not None else None,
                      target_label=f"target {fmt.percent(target)}" if target is not None else "")
    trend = line_chart("national-trend", B("Rasio cakupan nasional per bulan", "National coverage rate by month"),
                       _monthly_rate(months), lambda value: fmt.percent(value, 2))
    tables = {"provinces": ranking}
    if quality:
        tables |= _quality_tables(quality)
    pages.write("index.html", "national.html.j2", title=title, summary=summary, quality=quality,
                charts={"rates": chart, "trend": trend}, tables=tables, tile_map=province_tiles(provinces, target),
                models=["coverage_province", "award_province", "coverage_province_month"],
                suites=["marts_coverage_province", "marts_award_province", "marts_coverage_province_month"])


def _quality_tables(quality: NightQuality) -> dict[str, Table]:
    day = quality.snapshot_date
    gates = Table("gerbang", B(f"Pemeriksaan mutu {day}", f"Quality gates of {day}"),
                  [Column("gate", B("Gerbang", "Gate")), Column("verdict", B("Hasil", "Result")),
                   Column("checks", B("Pemeriksaan", "Checks"), "number"),
                   Column("notes", B("Catatan", "What failed or warned"), "code")],
                  quality.gates, B("Belum ada pemeriksaan untuk tanggal ini.", "No checks for this date yet."),
                  csv_columns=["gate_code", "passed", "checks", "notes"])
    branches = Table("cabang", B("Kesegaran data kantor cabang", "Branch freshness"),
                     [Column("branch", B("Kantor cabang", "Branch")),
                      Column("current_snapshot_date", B("Ekspor terakhir", "Last export"), "code"),
                      Column("days_since_delivery", B("Hari sejak ekspor", "Days since"), "number"),
                      Column("status", B("Status", "Status"))],
                     quality.branches, B("Belum ada kantor cabang.", "No branches yet."),
                     csv_columns=["branch_code", "branch_name", "current_snapshot_date", "days_since_delivery",
                                  "status_code"])
    return {"gates": gates, "branches": branches}


def _province_page(pages: _Pages, province: dict, districts: list[dict], villages: list[dict],
                   months: list[dict], choropleth: Choropleth | None) -> None:
    target = province["coverage_target"]
    name = province["province_name"]
    table = Table("kabupaten", B(f"Kabupaten/kota di {name}", f"Districts of {name}"), [
        Column("district_name", B("Kabupaten/kota", "District"), "link", href=DISTRICT_PAGE),
        Column("rank_in_province", B("Peringkat", "Rank"), "rank"), _SCORE, _COVERED, *_RATE_COLUMNS,
        Column("government_workers", B("Perangkat desa, non-ASN, adhoc", "Village staff, non-ASN, ad hoc"), "number"),
        Column("public_contributions_idr", B("Iuran dari APBN/APBD/APBDes/DBH", "Contributions from public budgets"),
               "rupiah")],
        _ranked(districts, "rank_in_province", "district_code"), B("Tidak ada kabupaten/kota.", "No districts."))
    best = Table("desa-terbaik", B("Desa terbaik (penilaian desa)", "Best villages (village award)"), [
        Column("village_name", B("Desa", "Village"), "link", href=VILLAGE_ROW),
        Column("district_name", B("Kab/kota", "District")),
        Column("rank_in_province", B("Peringkat", "Rank"), "rank"), _SCORE,
        Column("vulnerable_persons", B("Pekerja rentan", "Vulnerable workers"), "number"),
        Column("vulnerable_target", B("Target", "Target"), "number")],
        villages, B("Belum ada desa yang memenuhi syarat penilaian.", "No village is eligible yet."))
    chart = bar_chart("districts-rate", B(f"Rasio cakupan, {name}", f"Coverage rate, {name}"),
                      [(row["district_name"], _rate(row)) for row in
                       sorted(districts, key=lambda row: -(row["coverage_rate"] or -1))],
                      lambda value: fmt.percent(value, 2), target=float(target) if target is not None else None,
                      target_label="target")
    trend = line_chart("province-trend", B(f"Rasio cakupan {name} per bulan", f"Coverage rate of {name} by month"),
                       _monthly_rate(months), lambda value: fmt.percent(value, 2))
    pages.write(f"provinsi/{province['province_code']}.html", "province.html.j2", title=B(name, name),
                crumbs=[(B("Nasional", "National"), "index.html"), (B(name, name), None)],
                province=province, charts={"rates": chart, "trend": trend}, choropleth=choropleth,
                tables={"districts": table, "villages": best},
                models=["coverage_district", "award_district", "award_village", "coverage_province_month"],
                suites=["marts_coverage_district", "marts_award_district", "marts_award_village"])


def _district_page(pages: _Pages, district: dict, province_name: str, villages: list[dict],
                   participation: list[dict], months: list[dict]) -> None:
    name = district["district_name"]
    table = Table("desa", B(f"Desa/kelurahan di {name}", f"Villages of {name}"), [
        Column("village_name", B("Desa", "Village")), Column("village_code", B("Kode", "Code"), "code"),
        _COVERED, Column("vulnerable_persons", B("Pekerja rentan", "Vulnerable workers"), "number"),
        Column("vulnerable_target_met", B("Target tercapai", "Target met"), "yes_no"),
        Column("score", B("Nilai desa", "Village score"), "score")],
        sorted(villages, key=lambda v: (-v["covered_persons"], v["village_code"])),
        B("Tidak ada desa.", "No villages."), row_id=VILLAGE_ROW_ID)
    by_source: dict[str, int] = defaultdict(int)
    by_segment: dict[str, int] = defaultdict(int)
    for row in participation:
        by_source[row["funding_source"]] += row["active_participations"]
        by_segment[row["segment"]] += row["active_participations"]
    charts = {
        "sources": bar_chart("funding-sources", B("Kepesertaan aktif per sumber iuran",
                                                  "Active participations by funding source"),
                             sorted(by_source.items(), key=lambda item: -item[1]), fmt.number),
        "segments": bar_chart("segments", B("Kepesertaan aktif per segmen", "Active participations by segment"),
                              sorted(by_segment.items(), key=lambda item: -item[1]), fmt.number),
        "trend": line_chart("district-trend", B(f"Rasio cakupan {name} per bulan", f"Coverage rate of {name} by month"),
                            _monthly_rate(months), lambda value: fmt.percent(value, 2)),
    }
    pages.write(f"kabupaten/{district['district_code']}.html", "district.html.j2", title=B(name, name),
                crumbs=[(B("Nasional", "National"), "index.html"),
                        (B(province_name, province_name), f"provinsi/{district['province_code']}.html"),
                        (B(name, name), None)],
                district=district, charts=charts, tables={"villages": table},
                models=["coverage_village", "participation_district", "award_district", "coverage_district_month"],
                suites=["marts_coverage_village", "marts_participation_district", "marts_award_district"])


# The award's categories: the level of award_rubric.AWARD_LEVELS, its page and its name.
AWARD_CATEGORIES = {"province": ("provinsi", B("Provinsi", "Provinces")),
                    "district": ("kabupaten", B("Kabupaten/kota", "Districts")),
                    "village": ("desa", B("Desa/kelurahan", "Villages")),
                    "employer": ("badan-usaha", B("Badan usaha", "Businesses"))}


def _award_pages(conn: psycopg.Connection, pages: _Pages, params: dict) -> None:
    """A page per category: the first three of each province, the national ranking of the provincial winners
    (or of the provinces), with the status, rubric and snapshot that make a figure citable."""
    year = params["year"]
    categories = []
    for level, (slug, label) in AWARD_CATEGORIES.items():
        mart = AWARD_LEVELS[level].mart
        if not conn.execute("SELECT to_regclass(%s)", (f"marts.{mart}",)).fetchone()[0]:
            continue
        rows = _rows(conn, f"SELECT * FROM marts.{mart} WHERE year = %(year)s AND (is_top3 OR rank_national "  # noqa: S608
                           "IS NOT NULL) ORDER BY province_code, rank_national NULLS LAST", params)
        categories.append((level, slug, label))
        tables = _award_tables(level, rows)
        pages.write(f"{AWARD_FOLDER}/{slug}.html", "award_category.html.j2",
                    title=B(f"Paritrana Award {year}: {label.indonesian}", f"Paritrana Award {year}: {label.english}"),
                    crumbs=[(B("Nasional", "National"), "index.html"),
                            (B("Paritrana Award", "Paritrana Award"), f"{AWARD_FOLDER}/index.html"), (label, None)],
                    level=level, label=label, tables=tables, models=[mart], suites=[f"marts_{mart}"],
                    what_if=year in pages.context.what_if_years)
    pages.write(f"{AWARD_FOLDER}/index.html", "award_index.html.j2", title=B(f"Paritrana Award {year}",
                                                                              f"Paritrana Award {year}"),
                crumbs=[(B("Nasional", "National"), "index.html"), (B("Paritrana Award", "Paritrana Award"), None)],
                categories=categories, models=[AWARD_LEVELS[level].mart for level, _, _ in categories],
                suites=[f"marts_{AWARD_LEVELS[level].mart}" for level, _, _ in categories])


def _award_tables(level: str, rows: list[dict]) -> dict[str, Table]:
    def name_columns() -> list[Column]:
        return {"province": [Column("province_name", B("Provinsi", "Province"), "link", href=PROVINCE_PAGE)],
                "district": [Column("district_name", B("Kabupaten/kota", "District"), "link", href=DISTRICT_PAGE),
                             Column("province_name", B("Provinsi", "Province"))],
                "village": [Column("village_name", B("Desa", "Village"), "link", href=VILLAGE_ROW),
                            Column("district_name", B("Kab/kota", "District")),
                            Column("province_name", B("Provinsi", "Province"))],
                "employer": [Column("employer_name", B("Badan usaha", "Business")),
                             Column("npp", B("NPP", "NPP"), "code"),
                             Column("district_name", B("Kab/kota", "District")),
                             Column("province_name", B("Provinsi", "Province"))]}[level]

    figures: dict[str, list[Column]] = {
        "province": [Column("coverage_rate", B("Rasio cakupan", "Coverage rate"), "percent")],
        "district": [Column("coverage_rate", B("Rasio cakupan", "Coverage rate"), "percent")],
        "village": [Column("vulnerable_persons", B("Pekerja rentan", "Vulnerable workers"), "number"),
                    Column("vulnerable_target", B("Target", "Target"), "number")],
        "employer": [Column("covered_workers", B("Pekerja tercakup", "Covered workers"), "number"),
                     Column("workforce", B("Jumlah pekerja (WLKP)", "Workforce (WLKP)"), "number"),
                     Column("coverage_rate", B("Rasio cakupan", "Coverage rate"), "percent"),
                     Column("vulnerable_aided", B("Pekerja rentan dibantu CSR", "Vulnerable workers aided (CSR)"),
                            "number")],
    }
    national_rank = Column("rank_national", B("Peringkat nasional", "National rank"), "rank")
    province_rank = Column("rank_in_province", B("Peringkat di provinsi", "Rank in province"), "rank")
    empty = B("Belum ada yang memenuhi syarat.", "Nobody is eligible yet.")
    groups: list[tuple[str, Bilingual, Callable[[dict], bool]]] = [("", B("", ""), lambda row: True)]
    if level == "employer":
        groups = [(f"-{code.lower()}", label, lambda row, code=code: row["size_class"] == code)
                  for code, label in SIZE_CLASSES.items()]
    tables = {}
    for suffix, group, member in groups:
        members = [row for row in rows if member(row)]
        winners = sorted((row for row in members if row["rank_national"] is not None),
                         key=lambda row: (row["rank_national"], row["score"] is None))
        national_caption = B(f"Peringkat nasional {group.indonesian}".strip(),
                             f"National ranking {group.english}".strip())
        if level != "province":
            national_caption = B(f"Peringkat nasional para juara provinsi {group.indonesian}".strip(),
                                 f"National ranking of the provincial winners {group.english}".strip())
        tables[f"national{suffix}"] = Table(
            f"nasional{suffix}", national_caption, [national_rank, *name_columns(), _SCORE, *figures[level]], winners,
            empty, **_shown_of(winners, AWARD_NATIONAL_ROWS_SHOWN, lambda row: "", _FIRST_OF_THE_RANKING))
        if level != "province":
            top3 = sorted((row for row in members if row["is_top3"]),
                          key=lambda row: (row["province_code"], row["rank_in_province"]))
            tables[f"top3{suffix}"] = Table(
                f"tiga-besar{suffix}", B(f"Tiga besar tiap provinsi {group.indonesian}".strip(),
                                         f"First three of each province {group.english}".strip()),
                [province_rank, *name_columns(), _SCORE, *figures[level]], top3, empty,
                **_shown_of(top3, AWARD_ROWS_SHOWN_PER_PROVINCE, itemgetter("province_code"), _FIRST_OF_A_PROVINCE))
    return tables


_TIES = ("skor sama berbagi peringkat", "equal scores share a rank")
_FIRST_OF_THE_RANKING = B(f"{AWARD_NATIONAL_ROWS_SHOWN} teratas; {_TIES[0]}",
                          f"the first {AWARD_NATIONAL_ROWS_SHOWN}; {_TIES[1]}")
_FIRST_OF_A_PROVINCE = B(f"paling banyak {AWARD_ROWS_SHOWN_PER_PROVINCE} tiap provinsi; {_TIES[0]}",
                         f"at most {AWARD_ROWS_SHOWN_PER_PROVINCE} a province; {_TIES[1]}")


def _shown_of(rows: list[dict], per_group: int, group: Callable[[dict], str], note: Bilingual) -> dict:
    """The page rows of an award table: the first `per_group` rows of each group, in order (all, when none has
    more); the table's CSV keeps every row."""
    counts: dict[str, int] = defaultdict(int)
    shown = []
    for row in rows:
        key = group(row)
        counts[key] += 1
        if counts[key] <= per_group:
            shown.append(row)
    return {} if len(shown) == len(rows) else {"page_rows": shown, "page_rows_note": note}


_NORMALISATIONS = {
    "max": B("nilai / nilai tertinggi", "value / the largest value"),
    "min_max": B("(nilai - terendah) / (tertinggi - terendah)", "(value - smallest) / (largest - smallest)"),
    "share": B("nilai itu sendiri (0-1)", "the value itself (0-1)"),
}
_LEVEL_NAMES = {level: label for level, (_, label) in AWARD_CATEGORIES.items()}


def eligibility_sentences(eligibility: dict) -> list[Bilingual]:
    """The rubric's eligibility rules as sentences, a level each (award_rubric validates the keys)."""
    rules = {
        "min_coverage_rate": lambda v: B(f"rasio cakupan minimal {fmt.percent(v)}, dengan penduduk bekerja diketahui",
                                         f"a coverage rate of at least {fmt.percent(v)}, with a known employed "
                                         "population"),
        "min_vulnerable_persons": lambda v: B(f"minimal {fmt.number(v)} pekerja rentan tercakup",
                                              f"at least {fmt.number(v)} covered vulnerable workers"),
        "min_workforce": lambda v: B(f"jumlah pekerja (WLKP) minimal {fmt.number(v)}",
                                     f"a reported workforce (WLKP) of at least {fmt.number(v)}"),
        "min_covered_workers": lambda v: B(f"minimal {fmt.number(v)} pekerja tercakup",
                                           f"at least {fmt.number(v)} covered workers"),
    }
    sentences = []
    for level, conditions in eligibility.items():
        label = _LEVEL_NAMES.get(level, B(level, level))
        parts = [rules[key](value) if key in rules else B(f"{key} = {value}", f"{key} = {value}")
                 for key, value in (conditions or {}).items()]
        sentences.append(B(f"{label.indonesian} ikut dinilai bila memiliki "
                           + " dan ".join(part.indonesian for part in parts) + ".",
                           f"{label.english} are ranked with " + " and ".join(part.english for part in parts) + "."))
    return sentences


def _indicator_data(context: SiteContext) -> dict:
    rubric = context.rubric or {}
    indicators = [{"indicator": key, "meaning": B(indonesian, english)}
                  for key, indonesian, english in context.indicators]
    weights = [{"level": _LEVEL_NAMES.get(level, B(level, level)), "indicator": entry.get("indicator"),
                "weight": entry.get("weight"),
                "normalisation": _NORMALISATIONS.get(entry.get("normalisation"),
                                                     B(*[str(entry.get("normalisation"))] * 2))}
               for level, entries in (rubric.get("indicators") or {}).items() for entry in entries]
    targets = [{"year": year, "target": rate} for year, rate in sorted((rubric.get("coverage_targets") or {}).items())]
    return {
        "title": B("Indikator dan rubrik penilaian", "Indicators and the scoring rubric"),
        "models": ["int_award_indicators_district", "award_district", "award_province", "award_village",
                   "award_employer"],
        "suites": ["marts_award_district", "marts_award_province", "marts_award_village", "marts_award_employer"],
        "rubric_version": rubric.get("version"),
        "indicators": indicators,
        "eligibility": eligibility_sentences(rubric.get("eligibility") or {}),
        "tables": {
            "weights": Table("bobot", B("Bobot rubrik", "Rubric weights"), [
                Column("level", B("Tingkat", "Level")), Column("indicator", B("Indikator", "Indicator"), "code"),
                Column("weight", B("Bobot", "Weight"), "number"),
                Column("normalisation", B("Normalisasi", "Normalisation"))],
                weights, B("Rubrik belum dimuat.", "No rubric loaded yet.")),
            "targets": Table("target", B("Target cakupan semesta per tahun",
                                         "Universal Labour Coverage target by year"),
                             [Column("year", B("Tahun", "Year"), "code"),
                              Column("target", B("Target", "Target"), "percent")],
                             targets, B("Tidak ada target.", "No targets.")),
        },
    }
