"""The reviewers' docs site: one static folder with the reviewers' pages (`review_site`), dbt docs and GX
Data Docs, linked from its index page.

Bahasa Indonesia first. It reads only published marts (aggregates), the audit of the night's gates and the
docs artefacts: no personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

import psycopg

from cakupan.platform.warehouse import warehouse_url
from cakupan.settings import Settings
from cakupan.site.boundaries import load_boundaries
from cakupan.site.data_package import DATA_FOLDER, PACKAGE_FILE, write_data_package
from cakupan.site.gate_messages import english_descriptions, gate_message
from cakupan.site.rendering import Bilingual
from cakupan.site.review_site import NightQuality, SiteContext, build_review_pages, latest_data_docs_pages
from cakupan.transform.dbt_runner import run_dbt

GATE_NAMES = {"gx_raw": Bilingual("Data mentah (GX)", "Raw data (GX)"),
              "dbt": Bilingual("Model & uji dbt", "dbt models & tests"),
              "gx_marts": Bilingual("Mart (GX)", "Marts (GX)")}


def _published_date(conn: psycopg.Connection, snapshot_date: dt.date) -> dt.date | None:
    (published,) = conn.execute(
        "SELECT max(snapshot_date) FROM audit.publications WHERE snapshot_date <= %s", (snapshot_date,)
    ).fetchone()
    return published


def _gates(conn: psycopg.Connection, snapshot_date: dt.date, english: Mapping[str, str]) -> list[dict]:
    """The latest verdict of each gate for the date: failures and warnings name checks, never values; in both
    languages (`english`: the checks' English descriptions, gate_messages.english_descriptions)."""
    rows = conn.execute(
        """SELECT DISTINCT ON (gate) gate, passed, checks, failures, warnings FROM audit.gate_results
           WHERE snapshot_date = %s ORDER BY gate, gate_result_id DESC""",
        (snapshot_date,),
    ).fetchall()
    order = list(GATE_NAMES)
    gates = []
    for gate, passed, checks, failures, warnings in sorted(rows, key=lambda r: order.index(r[0])
                                                           if r[0] in order else 99):
        gates.append({"gate_code": gate, "gate": GATE_NAMES.get(gate, Bilingual(gate, gate)), "passed": passed,
                      "verdict": Bilingual("lulus", "passed") if passed else Bilingual("gagal", "failed"),
                      "checks": checks, "notes": [*(gate_message(text, english) for text in failures[:5]),
                                                  *(_warning(gate_message(text, english)) for text in warnings[:5])]})
    return gates


def _warning(message: Bilingual) -> Bilingual:
    return Bilingual(f"peringatan: {message.indonesian}", f"warning: {message.english}")


def _branches(conn: psycopg.Connection, settings: Settings) -> list[dict]:
    """From the night's dbt build (intermediate.int_branch_freshness): one row per branch, latest first."""
    if not conn.execute("SELECT to_regclass('intermediate.int_branch_freshness')").fetchone()[0]:
        return []
    rows = conn.execute(
        """SELECT f.branch_code, b.nama_cabang, f.current_snapshot_date, f.days_since_delivery
           FROM intermediate.int_branch_freshness f LEFT JOIN reference.branches b ON b.kode_cabang = f.branch_code
           ORDER BY f.days_since_delivery DESC NULLS FIRST, f.branch_code"""
    ).fetchall()
    warn, error = settings.branch_late_warn_days, settings.branch_late_error_days
    branches = []
    for code, name, last, days in rows:
        if days is None:
            status_code, status = "never", Bilingual("belum pernah mengirim", "never delivered")
        elif days > error:
            status_code, status = "late_error", Bilingual(f"terlambat lebih dari {error} hari",
                                                          f"more than {error} days late")
        elif days > warn:
            status_code, status = "late_warn", Bilingual(f"terlambat lebih dari {warn} hari",
                                                         f"more than {warn} days late")
        else:
            status_code, status = ("on_time", Bilingual("tepat waktu", "on time")) if days == 0 else (
                "within_limits", Bilingual("wajar", "within limits"))
        branches.append({"branch_code": code, "branch_name": name, "branch": f"{name or code} ({code})",
                         "current_snapshot_date": last, "days_since_delivery": days, "status_code": status_code,
                         "status": status})
    return branches


def _banner(published: dt.date | None, snapshot_date: dt.date) -> Bilingual | None:
    if published == snapshot_date:
        return None
    shown = (Bilingual(f"Angka di sini adalah posisi {published}.", f"Figures shown are those of {published}.")
             if published else Bilingual("Belum ada angka yang diterbitkan.", "Nothing has been published yet."))
    return Bilingual(f"Data {snapshot_date} tidak diterbitkan: pemeriksaan mutu gagal (lihat pemeriksaan mutu di "
                     f"halaman nasional). {shown.indonesian}",
                     f"Data of {snapshot_date} was not published: a quality gate failed (see the quality gates on "
                     f"the national page). {shown.english}")


def _published_warnings(conn: psycopg.Connection, published: dt.date | None,
                        english: Mapping[str, str]) -> list[Bilingual]:
    """Warnings of the gates the published night passed: published, but flagged to reviewers."""
    rows = conn.execute(
        """SELECT DISTINCT ON (gate) warnings FROM audit.gate_results
           WHERE snapshot_date = %s AND passed ORDER BY gate, gate_result_id DESC""", (published,),
    ).fetchall() if published else []
    return [gate_message(warning, english) for (warnings,) in rows for warning in warnings]


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


def dbt_docs_target(settings: Settings) -> Path:
    """dbt's target folder for the docs: the manifest and catalog reviewers read, described as published (`marts`).
    Apart from the night's build, which runs with other vars (the candidate schema): sharing one folder, each
    command found the other's parse and parsed the whole project again, twice a night (docs/decisions.md,
    change 24)."""
    return settings.home / "dbt" / "target-docs"


def build_docs_site(settings: Settings, snapshot_date: dt.date) -> Path:
    """Generate dbt docs (one self-contained page) next to the GX Data Docs, and write the reviewers' pages
    from the last published figures, with the night's gates (built even when a gate failed, to say so)."""
    docs = settings.docs_dir
    docs.mkdir(parents=True, exist_ok=True)
    target = dbt_docs_target(settings)
    run_dbt(settings, ["docs", "generate", "--static"], snapshot_date, log=logging.getLogger("cakupan.docs").info,
            target_path=target)
    (docs / "dbt").mkdir(exist_ok=True)
    shutil.copyfile(target / "static_index.html", docs / "dbt" / "index.html")
    english = english_descriptions(settings.expectations_dir)
    manifest = json.loads((target / "manifest.json").read_text())
    with psycopg.connect(warehouse_url(settings, "transformer")) as conn:
        published = _published_date(conn, snapshot_date)
        conn.commit()  # the package reads the marts in a snapshot of its own (data_package.write_data_package)
        package = None
        if published is not None:
            write_data_package(conn, manifest, docs, published, settings.data_packages_keep)
            package = f"{DATA_FOLDER}/{published.isoformat()}/{PACKAGE_FILE}"
        context = SiteContext(
            published=published,
            banner=_banner(published, snapshot_date),
            warnings=_published_warnings(conn, published, english),
            stale_branches=stale_branches(conn),
            gx_pages=latest_data_docs_pages(docs),
            rubric=_rubric(conn),
            built_at=dt.datetime.now(dt.UTC),
            indicators=indicator_descriptions(manifest),
            data_package=package,
        )
        quality = NightQuality(snapshot_date, _gates(conn, snapshot_date, english), _branches(conn, settings))
        boundaries = load_boundaries(settings.boundaries) if settings.boundaries else None
        pages = build_review_pages(conn, docs, context, quality, boundaries)
    logging.getLogger("cakupan.docs").info("Docs site: %d pages in %s", len(pages), docs)
    return docs / "index.html"
