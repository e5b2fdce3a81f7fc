"""The reviewers' docs site: one static folder with the reviewers' pages (`review_site`), dbt docs and GX
Data Docs, linked from its index page.

Bahasa Indonesia first. It reads only published marts (aggregates), the audit of the night's gates and the
docs artefacts: no personal data.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import shutil
from pathlib import Path

import psycopg

from cakupan.platform.warehouse import warehouse_url
from cakupan.settings import Settings
from cakupan.site.review_site import SiteContext, build_review_pages, latest_data_docs_pages, t
from cakupan.transform.dbt_runner import run_dbt

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
    shown = f"Angka di sini adalah posisi {published}." if published else "Belum ada angka yang diterbitkan."
    return ('<p class="banner">' + t(f"<strong>Data {snapshot_date} tidak diterbitkan</strong>: pemeriksaan mutu gagal "
            f"(lihat pemeriksaan mutu di halaman nasional). {shown}",
            f"<strong>Data of {snapshot_date} was not published</strong>: a quality gate failed (see the quality "
            f"gates on the national page). Figures shown are the last published ones.") + "</p>")


def _quality_sections(conn: psycopg.Connection, settings: Settings, snapshot_date: dt.date) -> str:
    """The night's gates and every branch's freshness, for the national page."""
    return f"""
<h2>{t(f"Pemeriksaan mutu {snapshot_date}", f"Quality gates of {snapshot_date}")}</h2>
<table><tr><th>{t("Gerbang", "Gate")}</th><th>{t("Hasil", "Result")}</th><th>{t("Pemeriksaan", "Checks")}</th>
<th>{t("Catatan", "What failed or warned")}</th></tr>
{_gate_rows(conn, snapshot_date)}
</table>
<h2>{t("Kesegaran data kantor cabang", "Branch freshness")}</h2>
<table><tr><th>{t("Kantor cabang", "Branch")}</th><th>{t("Ekspor terakhir", "Last export")}</th>
<th>{t("Hari sejak ekspor", "Days since")}</th><th>Status</th></tr>
{_branch_rows(conn, settings)}
</table>
"""


def _published_warnings(conn: psycopg.Connection, published: dt.date | None) -> list[str]:
    """Warnings of the gates the published night passed: published, but flagged to reviewers."""
    rows = conn.execute(
        """SELECT DISTINCT ON (gate) warnings FROM audit.gate_results
           WHERE snapshot_date = %s AND passed ORDER BY gate, gate_result_id DESC""", (published,),
    ).fetchall() if published else []
    return [warning for (warnings,) in rows for warning in warnings]


def stale_branches(conn: psycopg.Connection) -> int:
    if not conn.execute("SELECT to_regclass('intermediate.int_branch_freshness')").fetchone()[0]:
        return 0
    return conn.execute("SELECT count(*) FROM intermediate.int_branch_freshness WHERE is_stale").fetchone()[0]


def _rubric(conn: psycopg.Connection) -> dict | None:
    row = conn.execute("SELECT rubric FROM reference.award_rubric").fetchone()
    return row[0] if row else None


INDICATOR_DOCS = "award_indicators.md"


def indicator_descriptions(manifest: dict) -> list[tuple[str, str, str]]:
    """(indicator, Indonesian, English) from the award indicators' dbt doc blocks, which describe each indicator
    once for dbt docs and for the reviewers' pages: its Indonesian sentence, a blank line, its English one."""
    blocks = [doc for doc in manifest.get("docs", {}).values()
              if doc.get("package_name") == "cakupan" and doc.get("original_file_path", "").endswith(INDICATOR_DOCS)]
    described = []
    for block in sorted(blocks, key=lambda doc: doc["name"]):
        indonesian, _, english = block["block_contents"].strip().partition("\n\n")
        described.append((block["name"], indonesian.strip(), english.strip() or indonesian.strip()))
    return described


def build_docs_site(settings: Settings, snapshot_date: dt.date) -> Path:
    """Generate dbt docs (one self-contained page) next to the GX Data Docs, and write the reviewers' pages
    from the last published figures, with the night's gates (built even when a gate failed, to say so)."""
    docs = settings.docs_dir
    docs.mkdir(parents=True, exist_ok=True)
    run_dbt(settings, ["docs", "generate", "--static"], snapshot_date, log=logging.getLogger("cakupan.docs").info)
    target = settings.home / "dbt" / "target"
    (docs / "dbt").mkdir(exist_ok=True)
    shutil.copyfile(target / "static_index.html", docs / "dbt" / "index.html")
    with psycopg.connect(warehouse_url(settings, "transformer")) as conn:
        published = _published_date(conn, snapshot_date)
        context = SiteContext(
            published=published,
            banner=_banner(published, snapshot_date),
            warnings=_published_warnings(conn, published),
            stale_branches=stale_branches(conn),
            gx_pages=latest_data_docs_pages(docs),
            rubric=_rubric(conn),
            built_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            indicators=indicator_descriptions(json.loads((target / "manifest.json").read_text())),
        )
        pages = build_review_pages(conn, docs, context, national_extra=_quality_sections(conn, settings, snapshot_date))
    logging.getLogger("cakupan.docs").info("Docs site: %d pages in %s", len(pages), docs)
    return docs / "index.html"
