"""The what-if report (`cakupan award what-if`): a CSV per award level and a page of the reviewers' site,
`what-if/<year>/index.html` beside them. The docs site's rebuild writes only its own pages, so the report stays
until the next what-if of the year replaces it, and the national page links every report there is
(review_site.what_if_years)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from cakupan.platform import db
from cakupan.settings import Settings
from cakupan.site import site_format as fmt
from cakupan.site.docs_site import stale_branches
from cakupan.site.rendering import Bilingual, copy_assets, write_page
from cakupan.site.review_site import WHAT_IF_FOLDER, SiteContext, latest_data_docs_pages
from cakupan.site.tables import Column, Table
from cakupan.transform.award_rubric import AWARD_LEVELS
from cakupan.transform.award_what_if import LevelWhatIf, WhatIf

B = Bilingual
# A level's table on the page shows at most this many ranked entities (then the biggest changes); the CSV has
# every entity.
PAGE_ROWS = 500
LEVEL_TITLES = {"province": ("Provinsi", "Provinces"), "district": ("Kabupaten/kota", "Districts"),
                "village": ("Desa/kelurahan", "Villages"), "employer": ("Badan usaha", "Businesses")}
NAME_TITLES = {"province_code": ("Kode provinsi", "Province code"), "province_name": ("Provinsi", "Province"),
               "district_code": ("Kode kab/kota", "District code"), "district_name": ("Kabupaten/kota", "District"),
               "village_code": ("Kode desa", "Village code"), "village_name": ("Desa/kelurahan", "Village"),
               "npp": ("NPP", "NPP"), "employer_name": ("Badan usaha", "Business"),
               "size_class": ("Skala usaha", "Size class")}
RANK_TITLES = {"rank_in_province": ("Peringkat di provinsi", "Rank in province"),
               "rank_national": ("Peringkat nasional", "National rank")}


def default_folder(settings: Settings, year: int) -> Path:
    return settings.docs_dir / WHAT_IF_FOLDER / str(year)


def csv_name(level: str, year: int) -> str:
    return f"award_{level}_what_if_{year}.csv"


def write_report(settings: Settings, result: WhatIf, out: Path) -> list[Path]:
    """The CSVs and the page in `out`; returns them, the page last."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for level in result.levels:
        path = out / csv_name(level.level, result.year)
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=level.columns)
            writer.writeheader()
            writer.writerows(level.rows)
        written.append(path)
    with db.connect(settings, "transformer") as conn:
        published = conn.execute("SELECT max(snapshot_date) FROM audit.publications").fetchone()[0]
        context = SiteContext(published=published, banner=None, warnings=[], stale_branches=stale_branches(conn),
                              gx_pages=latest_data_docs_pages(settings.docs_dir), rubric=None,
                              built_at=dt.datetime.now(dt.UTC))
    # In the site (the default folder) the page links the site; elsewhere it stands alone with its own assets.
    docs_dir = settings.docs_dir if out.resolve().is_relative_to(settings.docs_dir.resolve()) else out
    relative = (out / "index.html").resolve().relative_to(docs_dir.resolve()).as_posix()
    copy_assets(docs_dir)
    year = result.year
    index = write_page(docs_dir, relative, "what_if.html.j2", site=context,
                       title=B(f"Bagaimana jika: rubrik lain, {year}", f"What if: another rubric, {year}"),
                       crumbs=[(B("Nasional", "National"), "index.html"),
                               (B(f"Bagaimana jika {year}", f"What if {year}"), None)],
                       models=[AWARD_LEVELS[level.level].mart for level in result.levels], suites=[],
                       result=result, sections=[_level_section(level, year) for level in result.levels])
    return [*written, index]


def _level_section(level: LevelWhatIf, year: int) -> dict:
    described = AWARD_LEVELS[level.level]
    rank = described.ranks[0]
    # Entities ranked by neither rubric (not eligible under either) are only in the CSV: nationally most villages.
    ranked = [row for row in level.rows if row[f"{rank}_now"] is not None or row[f"{rank}_alt"] is not None]
    shown = ranked if len(ranked) <= PAGE_ROWS else sorted(
        ranked, key=lambda row: (row[f"{rank}_now"] == row[f"{rank}_alt"], -abs(row["change"] or 0)))[:PAGE_ROWS]
    columns = [Column(name, B(*NAME_TITLES.get(name, (name, name))), "code" if name.endswith("_code") else "text")
               for name in described.names]
    for side, (indonesian, english) in (("now", ("sekarang", "now")), ("alt", ("alternatif", "alternative"))):
        columns.append(Column(f"score_{side}", B(f"Nilai {indonesian}", f"Score {english}"), "score"))
        columns += [Column(f"{r}_{side}", B(f"{RANK_TITLES.get(r, (r, r))[0]} {indonesian}",
                                            f"{RANK_TITLES.get(r, (r, r))[1]} {english}"), "number")
                    for r in described.ranks]
    columns.append(Column("change", B("Perubahan", "Change"), "number"))
    total, moved, counted = fmt.number(len(level.rows)), fmt.number(len(level.moved)), fmt.number(len(ranked))
    if shown is ranked:
        note = B(f"Tabel: yang berperingkat dengan salah satu rubrik ({counted}); semua {total} di CSV.",
                 f"Table: those ranked by either rubric ({counted}); all {total} in the CSV.")
    else:
        note = B(f"Tabel: {fmt.number(len(shown))} perubahan terbesar dari {counted} yang berperingkat; semua {total} "
                 "di CSV.", f"Table: the {fmt.number(len(shown))} biggest changes of the {counted} ranked; all {total} "
                 "in the CSV.")
    title = B(*LEVEL_TITLES.get(level.level, (level.level, level.level)))
    return {"title": title, "csv": csv_name(level.level, year), "note": note,
            "moved": B(f"{moved} dari {total} berubah peringkat.", f"{moved} of {total} change rank."),
            "table": Table(level.level, title, columns, shown, B("Tidak ada yang berperingkat.", "Nobody is ranked."))}
