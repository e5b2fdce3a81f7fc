"""The reviewers' docs site: one static folder with dbt docs, GX Data Docs and a landing page.

Bahasa Indonesia first. It reads only published marts (counts) and the docs artefacts: no personal data.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import shutil
from pathlib import Path

import psycopg

from cakupan.dbt_runner import run_dbt
from cakupan.region_package import ATTRIBUTION
from cakupan.settings import Settings
from cakupan.warehouse import warehouse_url

PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cakupan: cakupan jaminan sosial ketenagakerjaan</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d2733; }}
  h1 {{ margin-bottom: 0; }} .en {{ color: #5b6b7c; font-size: 0.9em; }}
  table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
  th, td {{ text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #dde3ea; }}
  td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
  .cards a {{ display: inline-block; margin: 0.5rem 1rem 0.5rem 0; padding: 0.8rem 1.2rem; border: 1px solid #b9c6d3;
             border-radius: 6px; text-decoration: none; color: #0b4f8a; }}
  .banner {{ background: #fdecea; border: 1px solid #e0a39d; padding: 0.8rem 1rem; border-radius: 6px; }}
  .fail {{ color: #a1271b; font-weight: 600; }} .warn {{ color: #8a5a00; }} .ok {{ color: #1c6b32; }}
  footer {{ margin-top: 3rem; font-size: 0.85em; color: #5b6b7c; }}
</style>
</head>
<body>
<h1>Cakupan</h1>
<p>Cakupan jaminan sosial ketenagakerjaan per provinsi, kabupaten/kota dan desa.<br>
<span class="en">Labour social-security coverage per province, district and village.</span></p>
<p>Posisi data: <strong>{published_date}</strong> &middot; dibangun {built_at} UTC
<span class="en">(data as of {published_date}; built {built_at} UTC)</span></p>
{banner}

<h2>Provinsi dengan rasio cakupan tertinggi <span class="en">Top provinces by coverage rate</span></h2>
<table>
<tr><th>Provinsi</th><th>Tenaga kerja terlindungi</th><th>Penduduk bekerja</th><th>Rasio cakupan</th>
<th>Pekerja rentan</th><th>Kantor cabang terlambat</th></tr>
{rows}
</table>

<h2>Pemeriksaan mutu {snapshot_date} <span class="en">Quality gates of {snapshot_date}</span></h2>
<table>
<tr><th>Gerbang <span class="en">gate</span></th><th>Hasil <span class="en">result</span></th>
<th>Pemeriksaan <span class="en">checks</span></th><th>Catatan <span class="en">what failed or warned</span></th></tr>
{gates}
</table>

<h2>Kesegaran data kantor cabang <span class="en">Branch freshness</span></h2>
<table>
<tr><th>Kantor cabang <span class="en">branch</span></th><th>Ekspor terakhir <span class="en">last export</span></th>
<th>Hari sejak ekspor <span class="en">days since</span></th><th>Status</th></tr>
{branches}
</table>

<h2>Dokumentasi <span class="en">Documentation</span></h2>
<div class="cards">
<a href="dbt/index.html">Model data &amp; aturan perhitungan<br><span class="en">dbt docs: models, lineage, tests</span></a>
<a href="gx/index.html">Hasil pemeriksaan mutu data<br><span class="en">Great Expectations Data Docs</span></a>
</div>

<footer>
<p>Angka mengikuti kontrak <em>branch-export-v1</em> bagian 5 dan <em>marts-v1</em>. Situs ini hanya memuat
angka agregat; NIK, nama dan tanggal lahir tidak pernah disimpan di sini.
<span class="en">Only aggregate counts appear here; no NIK, names or birth dates.</span></p>
<p>{attribution}</p>
</footer>
</body>
</html>
"""


_NO_PROVINCES = '<tr><td colspan="6">Belum ada data untuk tanggal ini.</td></tr>'


def _province_rows(conn: psycopg.Connection, published: dt.date | None) -> str:
    """Top provinces of the last published date; nothing to show before the first publication."""
    if published is None:
        return _NO_PROVINCES
    rows = conn.execute(
        """SELECT province_name, covered_persons, employed_population, coverage_rate, vulnerable_persons,
                  stale_branches
           FROM marts.coverage_province WHERE snapshot_date = %s AND covered_persons > 0
           ORDER BY coverage_rate DESC NULLS LAST, covered_persons DESC LIMIT 10""",
        (published,),
    ).fetchall()
    if not rows:
        return _NO_PROVINCES
    cells = []
    for name, covered, employed, rate, vulnerable, stale in rows:
        rate_text = f"{float(rate) * 100:.2f}%".replace(".", ",") if rate is not None else "&ndash;"
        employed_text = _id_number(employed) if employed is not None else "&ndash;"
        cells.append(
            f"<tr><td>{html.escape(name)}</td><td class=n>{_id_number(covered)}</td><td class=n>{employed_text}</td>"
            f"<td class=n>{rate_text}</td><td class=n>{_id_number(vulnerable)}</td><td class=n>{stale}</td></tr>"
        )
    return "\n".join(cells)


GATE_NAMES = {"gx_raw": "Data mentah (GX)", "dbt": "Model & uji dbt", "gx_marts": "Mart (GX)"}


def _published_date(conn: psycopg.Connection, snapshot_date: dt.date) -> dt.date | None:
    (published,) = conn.execute(
        "SELECT max(snapshot_date) FROM audit.publications WHERE snapshot_date <= %s", (snapshot_date,)
    ).fetchone()
    return published


def _gate_rows(conn: psycopg.Connection, snapshot_date: dt.date) -> str:
    """The latest verdict of each gate for the date: failures and warnings name checks, never values."""
    rows = conn.execute(
        """SELECT DISTINCT ON (gate) gate, passed, checks, failures, warnings FROM audit.gate_results
           WHERE snapshot_date = %s ORDER BY gate, gate_result_id DESC""",
        (snapshot_date,),
    ).fetchall()
    if not rows:
        return '<tr><td colspan="4">Belum ada pemeriksaan untuk tanggal ini.</td></tr>'
    cells = []
    for gate, passed, checks, failures, warnings in sorted(rows, key=lambda r: list(GATE_NAMES).index(r[0])
                                                           if r[0] in GATE_NAMES else 99):
        verdict = ('<span class="ok">lulus</span>' if passed else '<span class="fail">gagal</span>')
        notes = [f'<span class="fail">{html.escape(f)}</span>' for f in failures[:5]]
        notes += [f'<span class="warn">peringatan: {html.escape(w)}</span>' for w in warnings[:5]]
        cells.append(f"<tr><td>{html.escape(GATE_NAMES.get(gate, gate))}</td><td>{verdict}</td>"
                     f"<td class=n>{checks}</td><td>{'<br>'.join(notes) or '&ndash;'}</td></tr>")
    return "\n".join(cells)


def _branch_rows(conn: psycopg.Connection, settings: Settings) -> str:
    """From the night's dbt build (intermediate.int_branch_freshness): one row per branch, latest first."""
    exists = conn.execute("SELECT to_regclass('intermediate.int_branch_freshness')").fetchone()[0]
    if not exists:
        return '<tr><td colspan="4">Belum ada data.</td></tr>'
    rows = conn.execute(
        """SELECT f.branch_code, b.nama_cabang, f.current_snapshot_date, f.days_since_delivery
           FROM intermediate.int_branch_freshness f LEFT JOIN reference.branches b ON b.kode_cabang = f.branch_code
           ORDER BY f.days_since_delivery DESC NULLS FIRST, f.branch_code"""
    ).fetchall()
    cells = []
    for code, name, last, days in rows:
        if days is None:
            status = '<span class="warn">belum pernah mengirim</span>'
        elif days > settings.branch_late_error_days:
            status = f'<span class="fail">terlambat lebih dari {settings.branch_late_error_days} hari</span>'
        elif days > settings.branch_late_warn_days:
            status = f'<span class="warn">terlambat lebih dari {settings.branch_late_warn_days} hari</span>'
        else:
            status = '<span class="ok">tepat waktu</span>' if days == 0 else '<span class="ok">wajar</span>'
        cells.append(f"<tr><td>{html.escape(name or code)} ({html.escape(code)})</td><td>{last or '&ndash;'}</td>"
                     f"<td class=n>{'&ndash;' if days is None else days}</td><td>{status}</td></tr>")
    return "\n".join(cells) or '<tr><td colspan="4">Belum ada kantor cabang.</td></tr>'


def _banner(published: dt.date | None, snapshot_date: dt.date) -> str:
    if published == snapshot_date:
        return ""
    shown = f"Angka di bawah adalah posisi {published}." if published else "Belum ada angka yang diterbitkan."
    return (f'<p class="banner"><strong>Data {snapshot_date} tidak diterbitkan</strong>: pemeriksaan mutu gagal '
            f'(lihat tabel pemeriksaan di bawah). {shown}<br><span class="en">Data of {snapshot_date} was not '
            f"published: a quality gate failed. Figures shown are the last published ones.</span></p>")


def _id_number(value: int) -> str:
    """Indonesian digit grouping: 1.234.567."""
    return f"{value:,}".replace(",", ".")


def build_docs_site(settings: Settings, snapshot_date: dt.date) -> Path:
    """Generate dbt docs (one self-contained page) next to the GX Data Docs and write the landing page: the
    last published figures, and the night's gates (built even when a gate failed, to say so)."""
    docs = settings.docs_dir
    docs.mkdir(parents=True, exist_ok=True)
    run_dbt(settings, ["docs", "generate", "--static"], snapshot_date, log=logging.getLogger("cakupan.docs").info)
    target = settings.home / "dbt" / "target"
    (docs / "dbt").mkdir(exist_ok=True)
    shutil.copyfile(target / "static_index.html", docs / "dbt" / "index.html")
    with psycopg.connect(warehouse_url(settings)) as conn:
        published = _published_date(conn, snapshot_date)
        provinces = _province_rows(conn, published)
        gates = _gate_rows(conn, snapshot_date)
        branches = _branch_rows(conn, settings)
    page = PAGE.format(
        snapshot_date=snapshot_date.isoformat(),
        published_date=published.isoformat() if published else "&ndash;",
        banner=_banner(published, snapshot_date),
        built_at=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        rows=provinces,
        gates=gates,
        branches=branches,
        attribution=html.escape(ATTRIBUTION),
    )
    index = docs / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
