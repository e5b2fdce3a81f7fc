"""The what-if report (`cakupan award what-if`): a CSV per award level and a page of the reviewers' site,
`what-if/<year>/index.html` beside them. The docs site's rebuild writes only its own pages, so the report stays
until the next what-if of the year replaces it, and the national page links every report there is
(review_site.what_if_links)."""

from __future__ import annotations

import csv
import datetime as dt
import html
from pathlib import Path

from cakupan.platform import db
from cakupan.settings import Settings
from cakupan.site import site_format as fmt
from cakupan.site.docs_site import stale_branches
from cakupan.site.review_site import WHAT_IF_FOLDER, SiteContext, cell, latest_data_docs_pages, page, t, table
from cakupan.transform.award_rubric import AWARD_LEVELS
from cakupan.transform.award_what_if import LevelWhatIf, WhatIf

# A level's table on the page shows at most this many ranked entities (then the biggest changes); the CSV has
# every entity.
PAGE_ROWS = 500
LEVEL_TITLES = {"province": ("Provinsi", "Provinces"), "district": ("Kabupaten/kota", "Districts"),
                "village": ("Desa/kelurahan", "Villages")}
NAME_TITLES = {"province_code": ("Kode provinsi", "Province code"), "province_name": ("Provinsi", "Province"),
               "district_code": ("Kode kab/kota", "District code"), "district_name": ("Kabupaten/kota", "District"),
               "village_code": ("Kode desa", "Village code"), "village_name": ("Desa/kelurahan", "Village")}
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
        context = SiteContext(published=published, banner="", warnings=[], stale_branches=stale_branches(conn),
                              gx_pages=latest_data_docs_pages(settings.docs_dir), rubric=None,
                              built_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"))
    index = out / "index.html"
    index.write_text(_page(context, result), encoding="utf-8")
    return [*written, index]


def _page(context: SiteContext, result: WhatIf) -> str:
    year = result.year
    status = (t(f"Hasil {year} sudah final: angka yang diterbitkan tidak berubah lagi, apa pun rubriknya.",
                f"{year} results are final: the published figures no longer change, whatever the rubric.")
              if result.final else
              t(f"Hasil {year} masih sementara: dinilai ulang setiap malam dengan rubrik yang berlaku.",
                f"{year} results are provisional: scored again every night with the rubric in force."))
    body = f"""
<p>{t(f"Penilaian {year} dengan rubrik alternatif <code>{html.escape(result.rubric_alt)}</code>, di samping "
      f"peringkat yang diterbitkan (rubrik <code>{html.escape(result.rubric_now)}</code>). Hanya laporan: "
      "tidak ada angka yang diterbitkan atau diubah. Perubahan = peringkat sekarang &minus; peringkat alternatif "
      "(positif: naik).",
      f"The {year} award scored with the alternative rubric <code>{html.escape(result.rubric_alt)}</code>, beside "
      f"the published ranking (rubric <code>{html.escape(result.rubric_now)}</code>). A report only: nothing is "
      "published or changed. Change = rank now &minus; alternative rank (positive: moves up).")}</p>
<p class="meta">{status}</p>
{"".join(_level_section(level, year) for level in result.levels)}
"""
    crumbs = (f'<p class="meta"><a href="../../index.html">{t("Nasional", "National")}</a> &rsaquo; '
              f'{t("Bagaimana jika", "What if")} {year}</p>')
    return page(context, 2,
                (f"Bagaimana jika: rubrik lain, {year}", f"What if: another rubric, {year}"), body, crumbs=crumbs,
                models=[AWARD_LEVELS[level.level].mart for level in result.levels], suites=[])


def _level_section(level: LevelWhatIf, year: int) -> str:
    described = AWARD_LEVELS[level.level]
    title = LEVEL_TITLES.get(level.level, (level.level, level.level))
    rank = described.ranks[0]
    # Entities ranked by neither rubric (not eligible under either) are only in the CSV: nationally most villages.
    ranked = [row for row in level.rows if row[f"{rank}_now"] is not None or row[f"{rank}_alt"] is not None]
    shown = ranked if len(ranked) <= PAGE_ROWS else sorted(
        ranked, key=lambda row: (row[f"{rank}_now"] == row[f"{rank}_alt"], -abs(row["change"] or 0)))[:PAGE_ROWS]
    rank_headers = [t(*RANK_TITLES.get(r, (r, r))) for r in described.ranks]
    headers = ([t(*NAME_TITLES.get(name, (name, name))) for name in described.names]
               + [t("Nilai sekarang", "Score now")]
               + [f"{header} {t('sekarang', 'now')}" for header in rank_headers]
               + [t("Nilai alternatif", "Alternative score")]
               + [f"{header} {t('alternatif', 'alternative')}" for header in rank_headers] + [t("Perubahan", "Change")])
    rows = []
    for row in shown:
        cells = [cell(html.escape(str(row[name]))) for name in described.names]
        for side in ("now", "alt"):
            cells.append(cell(fmt.score(row[f"score_{side}"]), row[f"score_{side}"]))
            cells += [cell(str(row[f"{r}_{side}"] or fmt.DASH), row[f"{r}_{side}"]) for r in described.ranks]
        change = row["change"]
        cells.append(cell(fmt.DASH if change is None else f"{change:+d}" if change else "0", change))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    total, moved, counted = fmt.number(len(level.rows)), fmt.number(len(level.moved)), fmt.number(len(ranked))
    if shown is ranked:
        note = t(f"Tabel: yang berperingkat dengan salah satu rubrik ({counted}); semua {total} di CSV.",
                 f"Table: those ranked by either rubric ({counted}); all {total} in the CSV.")
    else:
        note = t(f"Tabel: {fmt.number(len(shown))} perubahan terbesar dari {counted} yang berperingkat; semua {total} "
                 "di CSV.", f"Table: the {fmt.number(len(shown))} biggest changes of the {counted} ranked; all {total} "
                 "in the CSV.")
    name = csv_name(level.level, year)
    return f"""
<h2>{t(*title)}</h2>
<p>{t(f"{moved} dari {total} berubah peringkat.", f"{moved} of {total} change rank.")}
<a href="{name}">{name}</a></p>
<p class="meta">{note}</p>
{table(headers, rows, t("Tidak ada yang berperingkat.", "Nobody is ranked."))}
"""
