"""The reviewers' pages of the docs site: national, one per province and per district, and the indicators.

Bahasa Indonesia first, with an English switch (both languages are in the page; a button shows one). Every
figure comes from the published marts of the last published date and the award year it falls in; every
page links the dbt docs of the models behind it and the Data Docs of their latest validation. Charts are
inline SVG and tables sort in the browser with a few lines of inline script: nothing is fetched at view
time, so the site works from the file system as well as from `cakupan docs serve`. Only aggregates are
read here: no person ever appears on a page.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from cakupan.reference.region_package import ATTRIBUTION
from cakupan.site import site_format as fmt
from cakupan.site.svg_charts import bar_chart, line_chart

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 68rem; margin: 1.5rem auto; padding: 0 1rem; color: #1d2733; }
header nav a { margin-right: 1rem; } h1 { margin: 0.6rem 0 0.2rem; }
html[data-lang="en"] .lang-id, html:not([data-lang="en"]) .lang-en { display: none; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0 1.5rem; font-size: 0.95em; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #dde3ea; vertical-align: top; }
th { cursor: pointer; background: #f3f6f9; } th[aria-sort]::after { content: " \\2195"; color: #8897a8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.meta { color: #5b6b7c; } .chart { max-width: 100%; height: auto; margin: 0.5rem 0 1rem; }
.banner { background: #fdecea; border: 1px solid #e0a39d; padding: 0.7rem 1rem; border-radius: 6px; }
.notice { background: #fff6e0; border: 1px solid #e8c979; padding: 0.7rem 1rem; border-radius: 6px; }
.fail { color: #a1271b; font-weight: 600; } .warn { color: #8a5a00; } .ok { color: #1c6b32; }
.sources a { margin-right: 1.2rem; } .scroll { overflow-x: auto; } #lang { float: right; }
footer { margin-top: 2.5rem; font-size: 0.85em; color: #5b6b7c; }
"""

# Language switch (remembered) and sortable tables: numbers sort by their data-sort value.
SCRIPT = """
(function () {
  var root = document.documentElement, saved = null;
  try { saved = localStorage.getItem("cakupan-lang"); } catch (e) {}
  if (saved) { root.setAttribute("data-lang", saved); }
  document.getElementById("lang").addEventListener("click", function () {
    var next = root.getAttribute("data-lang") === "en" ? "id" : "en";
    root.setAttribute("data-lang", next); root.setAttribute("lang", next);
    try { localStorage.setItem("cakupan-lang", next); } catch (e) {}
  });
  document.querySelectorAll("table.sortable th").forEach(function (th, column) {
    th.setAttribute("aria-sort", "none");
    th.addEventListener("click", function () {
      var body = th.closest("table").tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      function key(row) {
        var cell = row.cells[index], value = cell.getAttribute("data-sort");
        return value === null ? cell.textContent.trim() : (value === "" ? null : parseFloat(value));
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) return 0; if (x === null) return 1; if (y === null) return -1;
        return (x < y ? -1 : 1) * (ascending ? 1 : -1);
      });
      th.parentNode.querySelectorAll("th").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""


# `cakupan award what-if` writes its reports under this folder of the site, a folder per year (what_if_page.py).
WHAT_IF_FOLDER = "what-if"


def t(indonesian: str, english: str) -> str:
    """Both languages; the page shows one."""
    return f'<span class="lang-id">{indonesian}</span><span class="lang-en" lang="en">{english}</span>'


def cell(text: str, sort: float | int | None | str = "text") -> str:
    """A table cell; numbers carry their raw value so the table sorts them as numbers."""
    if sort == "text":
        return f"<td>{text}</td>"
    value = "" if sort is None else f"{float(sort):.10g}"
    return f'<td class="n" data-sort="{value}">{text}</td>'


def table(headers: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="meta">{empty}</p>'
    head = "".join(f"<th>{header}</th>" for header in headers)
    return (f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


@dataclass(frozen=True)
class SiteContext:
    published: dt.date | None
    banner: str  # the not-published notice, if the night was not published
    warnings: list[str]  # gate warnings of the published night
    stale_branches: int
    gx_pages: dict[str, str]  # suite name -> its latest Data Docs page, relative to the site root
    rubric: dict | None
    built_at: str
    # (indicator, Indonesian, English): the award indicators' dbt doc blocks (docs_site.indicator_descriptions)
    indicators: list[tuple[str, str, str]] = field(default_factory=list)
    # Whether the committee signed the published award year off (build_review_pages reads it): a line of HTML.
    award_status: str = ""
    # Links to the what-if reports in the site (what_if_links): a line of HTML, empty without any.
    what_if: str = ""


def page(context: SiteContext, depth: int, title: tuple[str, str], body: str, *, models: list[str],
         suites: list[str], crumbs: str = "") -> str:
    """A whole page: header, the data's date, the night's notices, the body, and where its figures come from."""
    up = "../" * depth
    published = context.published.isoformat() if context.published else "&ndash;"
    sources = [f'<a href="{up}dbt/index.html#!/model/model.cakupan.{model}">dbt: {model}</a>' for model in models]
    sources += [f'<a href="{up}{context.gx_pages[suite]}">GX: {suite}</a>'
                for suite in suites if suite in context.gx_pages]
    warnings = "".join(f"<li>{html.escape(warning)}</li>" for warning in context.warnings[:8])
    notices = context.banner
    if warnings:
        heading = t("Peringatan pemeriksaan mutu (data tetap diterbitkan):", "Quality warnings (data still published):")
        notices += f'<div class="notice">{heading}<ul>{warnings}</ul></div>'
    return f"""<!doctype html>
<html lang="id" data-lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{html.escape(title[0])} · Cakupan</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<button id="lang" type="button">{t("English", "Bahasa Indonesia")}</button>
<nav><a href="{up}index.html">{t("Nasional", "National")}</a><a href="{up}indikator.html">{
    t("Indikator &amp; rubrik", "Indicators &amp; rubric")}</a>
<a href="{up}dbt/index.html">dbt docs</a><a href="{up}gx/index.html">Data Docs</a></nav>
{crumbs}
<h1>{t(title[0], title[1])}</h1>
<p class="meta">{t("Posisi data", "Data as of")}: <strong id="published">{published}</strong> &middot;
{t("kantor cabang terlambat", "stale branches")}: <strong>{context.stale_branches}</strong> &middot;
{t("dibangun", "built")} {context.built_at} UTC</p>
</header>
{notices}
<main>
{body}
</main>
<footer>
<p class="sources">{t("Sumber angka", "Where these figures come from")}: {" ".join(sources)}</p>
<p>{t("Hanya angka agregat; NIK, nama dan tanggal lahir tidak pernah ada di situs ini.",
      "Aggregates only; no NIK, names or birth dates ever appear on this site.")}
{html.escape(ATTRIBUTION)}</p>
</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""


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


def _rows(conn: psycopg.Connection, sql: str, params: dict) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _district_link(row: dict, up: str) -> str:
    return f'<a href="{up}kabupaten/{row["district_code"]}.html">{html.escape(row["district_name"])}</a>'


def _province_link(row: dict, up: str) -> str:
    return f'<a href="{up}provinsi/{row["province_code"]}.html">{html.escape(row["province_name"])}</a>'


def _rank_cells(row: dict, rank_column: str) -> str:
    top = " ★" if row["is_top3"] else ""
    return (cell(f"{row[rank_column]}{top}" if row[rank_column] else fmt.DASH, row[rank_column])
            + cell(fmt.score(row["score"]), row["score"]))


def _target_cells(row: dict) -> str:
    if row["coverage_target_met"] is None:
        verdict = fmt.DASH
    elif row["coverage_target_met"]:
        verdict = f'<span class="ok">{t("tercapai", "met")}</span>'
    else:
        verdict = f'<span class="warn">{t("belum", "not yet")}</span>'
    return cell(verdict) + cell(fmt.number(row["coverage_gap_persons"]), row["coverage_gap_persons"])


_AWARD_HEADERS = [t("Peringkat", "Rank"), t("Nilai", "Score"), t("Rasio cakupan", "Coverage rate"),
                  t("Perubahan setahun", "Change in a year"), t("Pekerja rentan per 1.000", "Vulnerable per 1,000"),
                  t("Desa memenuhi target", "Villages meeting target"), t("Target cakupan semesta", "ULC target"),
                  t("Kekurangan (orang)", "Gap (persons)")]


def _award_cells(row: dict) -> str:
    return (cell(fmt.percent(row["coverage_rate"], 2), row["coverage_rate"])
            + cell(fmt.points(row["coverage_rate_change_pp"]), row["coverage_rate_change_pp"])
            + cell(fmt.number(row["vulnerable_per_1000_employed"], 1), row["vulnerable_per_1000_employed"])
            + cell(fmt.percent(row["villages_target_met_share"]), row["villages_target_met_share"])
            + _target_cells(row))


def build_review_pages(conn: psycopg.Connection, docs_dir: Path, context: SiteContext,
                       national_extra: str = "") -> list[Path]:
    """Write every reviewer page for the last published date; `national_extra` (the night's gates) goes at the
    end of the national page. Returns the files written."""
    written: list[Path] = []

    def write(relative: str, content: str) -> None:
        path = docs_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)

    write("indikator.html", _indicator_page(context))
    if context.published is None:
        write("index.html", page(context, 0,
                                 ("Cakupan jaminan sosial ketenagakerjaan", "Labour social-security coverage"),
                                 f'<p>{t("Belum ada angka yang diterbitkan.", "Nothing has been published yet.")}</p>'
                                 + national_extra,
                                 models=[], suites=[]))
        return written

    params = {"d": context.published, "year": context.published.year}
    context = replace(context, award_status=_award_status(conn, context.published.year),
                      what_if=what_if_links(docs_dir))
    provinces = _rows(conn, """SELECT c.*, a.score, a.rank_national, a.is_top3, a.eligible, a.coverage_rate_change_pp,
        a.vulnerable_per_1000_employed, a.villages_target_met_share, a.coverage_target, a.coverage_target_met,
        a.coverage_gap_persons FROM marts.coverage_province c
        LEFT JOIN marts.award_province a ON a.province_code = c.province_code AND a.year = %(year)s
        WHERE c.snapshot_date = %(d)s ORDER BY c.province_code""", params)
    districts = _rows(conn, """SELECT c.*, a.score, a.rank_in_province, a.is_top3, a.eligible,
        a.coverage_rate_change_pp, a.vulnerable_per_1000_employed, a.villages_target_met_share, a.coverage_target,
        a.coverage_target_met, a.coverage_gap_persons, a.government_workers, a.public_contributions_idr
        FROM marts.coverage_district c
        LEFT JOIN marts.award_district a ON a.district_code = c.district_code AND a.year = %(year)s
        WHERE c.snapshot_date = %(d)s ORDER BY c.district_code""", params)
    villages = _rows(conn, """SELECT c.*, a.score, a.rank_in_province, a.is_top3 FROM marts.coverage_village c
        LEFT JOIN marts.award_village a ON a.village_code = c.village_code AND a.year = %(year)s
        WHERE c.snapshot_date = %(d)s ORDER BY c.village_code""", params)
    participation = _rows(conn, "SELECT * FROM marts.participation_district WHERE snapshot_date = %(d)s", params)
    # Businesses (award-v2 section 4): the national tier's first three of each size class.
    employers = _rows(conn, """SELECT * FROM marts.award_employer WHERE year = %(year)s AND rank_national <= 3
        ORDER BY size_class, rank_national, npp""", params)
    trend = _rows(conn, """SELECT month, sum(covered_persons) AS covered,
        sum(covered_persons) FILTER (WHERE employed_population IS NOT NULL) AS covered_known,
        sum(employed_population) AS employed FROM marts.coverage_province_month GROUP BY month ORDER BY month""", {})

    write("index.html", _national_page(context, provinces, trend, _employer_section(employers) + national_extra))
    districts_of = defaultdict(list)
    for row in districts:
        districts_of[row["province_code"]].append(row)
    villages_of = defaultdict(list)
    for row in villages:
        villages_of[row["district_code"]].append(row)
    participation_of = defaultdict(list)
    for row in participation:
        participation_of[row["district_code"]].append(row)
    for province in provinces:
        members = districts_of[province["province_code"]]
        best_villages = sorted((v for d in members for v in villages_of[d["district_code"]] if v["rank_in_province"]),
                               key=lambda v: (v["rank_in_province"], v["village_code"]))[:10]
        write(f"provinsi/{province['province_code']}.html", _province_page(context, province, members, best_villages))
    province_names = {row["province_code"]: row["province_name"] for row in provinces}
    for district in districts:
        write(f"kabupaten/{district['district_code']}.html",
              _district_page(context, district, province_names[district["province_code"]],
                             villages_of[district["district_code"]], participation_of[district["district_code"]]))
    return written


_SIZE_CLASSES = {"BESAR": t("Usaha besar", "Large businesses"), "MENENGAH": t("Usaha menengah", "Medium businesses"),
                 "KECIL_MIKRO": t("Usaha kecil dan mikro", "Small and micro businesses")}


def _employer_section(employers: list[dict]) -> str:
    """The national tier of the business category, a table per size class (nothing without an employer reference)."""
    if not employers:
        return ""
    parts = [f'<h2>{t("Badan usaha terbaik (tingkat nasional)", "Best businesses (national tier)")}</h2>']
    for size_class, label in _SIZE_CLASSES.items():
        rows = [f"<tr>{cell(str(row['rank_national']), row['rank_national'])}"
                f"{cell(html.escape(row['employer_name']))}"
                f"{cell(html.escape(row['province_name'] or row['province_code']))}"
                f"{cell(fmt.number(row['covered_workers']), row['covered_workers'])}"
                f"{cell(fmt.number(row['workforce']), row['workforce'])}"
                f"{cell(fmt.percent(row['coverage_rate']), row['coverage_rate'])}"
                f"{cell(fmt.number(row['vulnerable_aided']), row['vulnerable_aided'])}"
                f"{cell(fmt.score(row['score']), row['score'])}</tr>"
                for row in employers if row["size_class"] == size_class]
        parts.append(f"<h3>{label}</h3>" + table(
            [t("Peringkat nasional", "National rank"), t("Badan usaha", "Business"), t("Provinsi", "Province"),
             t("Pekerja tercakup", "Covered workers"), t("Jumlah pekerja (WLKP)", "Workforce (WLKP)"),
             t("Rasio cakupan", "Coverage rate"), t("Pekerja rentan dibantu CSR", "Vulnerable workers aided (CSR)"),
             t("Nilai", "Score")], rows, t("Belum ada pemenang provinsi.", "No provincial winner yet.")))
    return "\n".join(parts)


def what_if_links(docs_dir: Path) -> str:
    """The what-if reports the site holds, newest year first: the rebuild leaves them, so it links them."""
    years = sorted((int(path.parent.name) for path in (docs_dir / WHAT_IF_FOLDER).glob("*/index.html")
                    if path.parent.name.isdigit()), reverse=True)
    if not years:
        return ""
    links = " ".join(f'<a href="{WHAT_IF_FOLDER}/{year}/index.html">{year}</a>' for year in years)
    return (f'<p class="meta what-if">{t("Bagaimana jika dengan rubrik lain", "What if with another rubric")}: '
            f"{links}</p>")


def _award_status(conn: psycopg.Connection, year: int) -> str:
    """The award year final (signed off: marts.award_finalisations, in force) or provisional, for the award pages."""
    signed = None
    if conn.execute("SELECT to_regclass('marts.award_finalisations')").fetchone()[0]:
        signed = conn.execute("SELECT finalised_by, finalised_at FROM marts.award_finalisations "
                              "WHERE year = %s AND superseded_at IS NULL", (year,)).fetchone()
    if signed is None:
        status, words = "provisional", t(
            f"Hasil {year} sementara: dinilai ulang setiap malam sampai ditetapkan oleh komite.",
            f"{year} results are provisional: scored again every night until the committee signs them off.")
    else:
        by, at = html.escape(signed[0]), f"{signed[1]:%Y-%m-%d}"
        status, words = "final", t(f"Hasil {year} final: ditetapkan oleh {by} pada {at}; tidak berubah lagi.",
                                   f"{year} results are final: signed off by {by} on {at}; they no longer change.")
    return f'<p class="meta award-status" data-status="{status}">{words}</p>'


def _national_page(context: SiteContext, provinces: list[dict], trend: list[dict], extra: str) -> str:
    covered = sum(row["covered_persons"] for row in provinces)
    known = [row for row in provinces if row["employed_population"]]
    employed = sum(row["employed_population"] for row in known)
    rate = sum(row["covered_persons"] for row in known) / employed if employed else None
    target = next((row["coverage_target"] for row in provinces if row["coverage_target"] is not None), None)
    ranked = sorted(provinces, key=lambda row: (row["rank_national"] is None, row["rank_national"] or 0,
                                                -(row["coverage_rate"] or 0)))
    rows = [f"<tr>{cell(_province_link(row, ''))}{_rank_cells(row, 'rank_national')}"
            f"{cell(fmt.number(row['covered_persons']), row['covered_persons'])}"
            f"{cell(fmt.number(row['employed_population']), row['employed_population'])}{_award_cells(row)}"
            f"{cell(str(row['stale_branches']), row['stale_branches'])}</tr>" for row in ranked]
    chart_rows = sorted(provinces, key=lambda row: -(row["coverage_rate"] or -1))
    chart = bar_chart([(row["province_name"], float(row["coverage_rate"]) if row["coverage_rate"] is not None else None)
                       for row in chart_rows], lambda value: fmt.percent(value, 2),
                      title="Rasio cakupan per provinsi", target=float(target) if target is not None else None,
                      target_label=f"target {fmt.percent(target)}" if target is not None else "")
    series = [(row["month"], float(row["covered_known"]) / float(row["employed"]) if row["employed"] else None)
              for row in trend]
    trend_chart = line_chart(series, lambda value: fmt.percent(value, 2), title="Rasio cakupan nasional per bulan")
    body = f"""
<p>{t("Tenaga kerja terlindungi", "Covered workers")}: <strong id="national-covered">{
    fmt.number(covered)}</strong> &middot;
{t("rasio cakupan (provinsi dengan data penduduk bekerja)", "coverage rate (provinces with an employed population)")}:
<strong id="national-rate">{fmt.percent(rate, 2)}</strong></p>
<h2>{t("Rasio cakupan per provinsi", "Coverage rate by province")}</h2>
{chart}
<h2>{t(f"Peringkat Paritrana Award {context.published.year}", f"Paritrana Award ranking {context.published.year}")}</h2>
{context.award_status}
{context.what_if}
{table([t("Provinsi", "Province"), _AWARD_HEADERS[0], _AWARD_HEADERS[1],
        t("Tenaga kerja terlindungi", "Covered workers"), t("Penduduk bekerja", "Employed")]
       + _AWARD_HEADERS[2:] + [t("Cabang terlambat", "Stale branches")],
       rows, t("Belum ada data.", "No data yet."))}
<h2>{t("Tren bulanan", "Monthly trend")}</h2>
{trend_chart or '<p class="meta">' + t("Belum ada seri bulanan.", "No monthly series yet.") + "</p>"}
{extra}
"""
    return page(context, 0, ("Cakupan jaminan sosial ketenagakerjaan", "Labour social-security coverage"), body,
                models=["coverage_province", "award_province", "award_employer", "coverage_province_month"],
                suites=["marts_coverage_province", "marts_award_province", "marts_award_employer",
                        "marts_coverage_province_month"])


def _province_page(context: SiteContext, province: dict, districts: list[dict], villages: list[dict]) -> str:
    ranked = sorted(districts, key=lambda row: (row["rank_in_province"] is None, row["rank_in_province"] or 0,
                                                -(row["coverage_rate"] or 0), row["district_code"]))
    rows = [f"<tr>{cell(_district_link(row, '../'))}{_rank_cells(row, 'rank_in_province')}"
            f"{cell(fmt.number(row['covered_persons']), row['covered_persons'])}{_award_cells(row)}"
            f"{cell(fmt.number(row['government_workers']), row['government_workers'])}"
            f"{cell(fmt.rupiah(row['public_contributions_idr']), row['public_contributions_idr'])}</tr>"
            for row in ranked]
    chart = bar_chart([(row["district_name"], float(row["coverage_rate"]) if row["coverage_rate"] is not None else None)
                       for row in sorted(districts, key=lambda row: -(row["coverage_rate"] or -1))],
                      lambda value: fmt.percent(value, 2), title=f"Rasio cakupan, {province['province_name']}",
                      target=float(province["coverage_target"]) if province["coverage_target"] is not None else None,
                      target_label="target")
    village_rows = [f"<tr>{cell(html.escape(v['village_name']))}{cell(v['district_code'])}"
                    f"{_rank_cells(v, 'rank_in_province')}"
                    f"{cell(fmt.number(v['vulnerable_persons']), v['vulnerable_persons'])}"
                    f"{cell(fmt.number(v['vulnerable_target']), v['vulnerable_target'])}</tr>" for v in villages]
    body = f"""
<p>{t("Tenaga kerja terlindungi", "Covered workers")}: <strong id="province-covered">{
    fmt.number(province['covered_persons'])}</strong> &middot;
{t("rasio cakupan", "coverage rate")}: <strong id="province-rate">{
    fmt.percent(province['coverage_rate'], 2)}</strong> &middot;
{t("peringkat nasional", "national rank")}: <strong>{province['rank_national'] or fmt.DASH}</strong> &middot;
{t("desa memenuhi target pekerja rentan", "villages meeting the vulnerable-worker target")}:
<strong>{fmt.number(province['villages_target_met'])} / {fmt.number(province['villages'])}</strong></p>
<h2>{t("Kabupaten/kota", "Districts")}</h2>
{context.award_status}
{chart}
{table([t("Kabupaten/kota", "District"), _AWARD_HEADERS[0], _AWARD_HEADERS[1],
        t("Tenaga kerja terlindungi", "Covered workers")]
       + _AWARD_HEADERS[2:] + [t("Perangkat desa, non-ASN, adhoc", "Village staff, non-ASN, ad hoc"),
                               t("Iuran dari APBN/APBD/APBDes/DBH", "Contributions from public budgets")],
       rows, t("Tidak ada kabupaten/kota.", "No districts."))}
<h2>{t("Desa terbaik (penilaian desa)", "Best villages (village award)")}</h2>
{table([t("Desa", "Village"), t("Kab/kota", "District"), _AWARD_HEADERS[0], _AWARD_HEADERS[1],
        t("Pekerja rentan", "Vulnerable workers"), t("Target", "Target")], village_rows,
       t("Belum ada desa yang memenuhi syarat penilaian.", "No village is eligible yet."))}
"""
    crumbs = (f'<p class="meta"><a href="../index.html">{t("Nasional", "National")}</a> &rsaquo; '
              f'{html.escape(province["province_name"])}</p>')
    return page(context, 1, (province["province_name"], province["province_name"]), body, crumbs=crumbs,
                models=["coverage_district", "award_district", "award_village"],
                suites=["marts_coverage_district", "marts_award_district", "marts_award_village"])


def _district_page(context: SiteContext, district: dict, province_name: str, villages: list[dict],
                   participation: list[dict]) -> str:
    village_rows = [f"<tr>{cell(html.escape(v['village_name']))}{cell(v['village_code'])}"
                    f"{cell(fmt.number(v['covered_persons']), v['covered_persons'])}"
                    f"{cell(fmt.number(v['vulnerable_persons']), v['vulnerable_persons'])}"
                    f"{cell(t('ya', 'yes') if v['vulnerable_target_met'] else t('belum', 'not yet'))}"
                    f"{cell(fmt.score(v['score']), v['score'])}</tr>"
                    for v in sorted(villages, key=lambda v: (-v["covered_persons"], v["village_code"]))]
    by_source, by_segment = defaultdict(int), defaultdict(int)
    for row in participation:
        by_source[row["funding_source"]] += row["active_participations"]
        by_segment[row["segment"]] += row["active_participations"]
    sources = bar_chart(sorted(by_source.items(), key=lambda item: -item[1]), lambda value: fmt.number(value),
                        title="Kepesertaan aktif per sumber iuran")
    segments = bar_chart(sorted(by_segment.items(), key=lambda item: -item[1]), lambda value: fmt.number(value),
                         title="Kepesertaan aktif per segmen")
    body = f"""
<p>{t("Tenaga kerja terlindungi", "Covered workers")}: <strong id="district-covered">{
    fmt.number(district['covered_persons'])}</strong> &middot;
{t("penduduk bekerja", "employed")}: <strong>{fmt.number(district['employed_population'])}</strong> &middot;
{t("rasio cakupan", "coverage rate")}: <strong id="district-rate">{
    fmt.percent(district['coverage_rate'], 2)}</strong> &middot;
{t("nilai Paritrana", "Paritrana score")}: <strong>{fmt.score(district['score'])}</strong>
({t("peringkat di provinsi", "rank in province")} {district['rank_in_province'] or fmt.DASH}) &middot;
{t("pekerja rentan", "vulnerable workers")}: <strong>{fmt.number(district['vulnerable_persons'])}</strong></p>
<h2>{t("Sumber iuran (kepesertaan aktif)", "Funding sources (active participations)")}</h2>
{sources or '<p class="meta">' + t("Belum ada peserta aktif.", "No active participants.") + "</p>"}
<h2>{t("Segmen", "Segments")}</h2>
{segments or ''}
<h2>{t("Desa/kelurahan", "Villages")}</h2>
{table([t("Desa", "Village"), t("Kode", "Code"), t("Tenaga kerja terlindungi", "Covered workers"),
        t("Pekerja rentan", "Vulnerable workers"), t("Target tercapai", "Target met"),
        t("Nilai desa", "Village score")],
       village_rows, t("Tidak ada desa.", "No villages."))}
"""
    crumbs = (f'<p class="meta"><a href="../index.html">{t("Nasional", "National")}</a> &rsaquo; '
              f'<a href="../provinsi/{district["province_code"]}.html">{html.escape(province_name)}</a> &rsaquo; '
              f'{html.escape(district["district_name"])}</p>')
    return page(context, 1, (district["district_name"], district["district_name"]), body, crumbs=crumbs,
                models=["coverage_village", "participation_district", "award_district"],
                suites=["marts_coverage_village", "marts_participation_district", "marts_award_district"])


_NORMALISATIONS = {
    "max": ("nilai / nilai tertinggi", "value / the largest value"),
    "min_max": ("(nilai - terendah) / (tertinggi - terendah)", "(value - smallest) / (largest - smallest)"),
    "share": ("nilai itu sendiri (0-1)", "the value itself (0-1)"),
}


def _prose(text: str) -> str:
    """A doc block's sentence as HTML: escaped, with its `code` spans kept as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(" ".join(text.split())))


def _indicator_page(context: SiteContext) -> str:
    rows = [f"<tr>{cell('<code>' + key + '</code>')}{cell(t(_prose(indonesian), _prose(english)))}</tr>"
            for key, indonesian, english in context.indicators]
    rubric = context.rubric or {}
    weights = []
    for level, entries in (rubric.get("indicators") or {}).items():
        for entry in entries:
            how = _NORMALISATIONS.get(entry.get("normalisation"),
                                      (entry.get("normalisation"), entry.get("normalisation")))
            weights.append(f"<tr>{cell(level)}{cell('<code>' + html.escape(str(entry.get('indicator'))) + '</code>')}"
                           f"{cell(fmt.number(entry.get('weight'), 0), entry.get('weight'))}{cell(t(*how))}</tr>")
    targets = [f"<tr>{cell(str(year))}{cell(fmt.percent(rate), rate)}</tr>"
               for year, rate in sorted((rubric.get("coverage_targets") or {}).items())]
    eligibility = html.escape(json.dumps(rubric.get("eligibility") or {}, ensure_ascii=False))
    body = f"""
<h2>{t("Indikator", "Indicators")}</h2>
{table([t("Indikator", "Indicator"), t("Arti dan rumus", "Meaning and formula")], rows, "")}
<h2>{t("Rubrik", "Rubric")} <code>{html.escape(str(rubric.get('version', '')))}</code></h2>
<p>{t("Nilai = 100 × Σ(bobot × nilai ternormalisasi) / Σ bobot. Normalisasi di antara peserta yang memenuhi "
      "syarat pada tahun yang sama; nilai kosong dihitung 0. Nilai sama berbagi peringkat (1, 1, 3).",
      "Score = 100 × Σ(weight × normalised value) / Σ weights. Normalised among the eligible of the same year; "
      "a missing value counts 0. Equal scores share a rank (1, 1, 3).")}</p>
{table([t("Tingkat", "Level"), t("Indikator", "Indicator"), t("Bobot", "Weight"), t("Normalisasi", "Normalisation")],
       weights, t("Rubrik belum dimuat.", "No rubric loaded yet."))}
<h3>{t("Target cakupan semesta per tahun", "Universal Labour Coverage target by year")}</h3>
{table([t("Tahun", "Year"), t("Target", "Target")], targets, t("Tidak ada target.", "No targets."))}
<h3>{t("Syarat ikut penilaian", "Eligibility")}</h3>
<p><code>{eligibility}</code></p>
"""
    return page(context, 0, ("Indikator dan rubrik penilaian", "Indicators and the scoring rubric"), body,
                models=["int_award_indicators_district", "award_district", "award_province", "award_village"],
                suites=["marts_award_district", "marts_award_province", "marts_award_village"])
