"""The steps of one night, as plain functions: the DAG's tasks call these, and so do the tests.

Each step takes the settings and the snapshot date D (the business date the branch exports describe).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import asdict
from pathlib import Path

import structlog

from cakupan import db, landing, publication
from cakupan.award_rubric import read_rubric, store_rubric
from cakupan.dbt_runner import DbtFailed, run_dbt
from cakupan.gate_log import record_gate
from cakupan.load import load_delivery
from cakupan.pseudonymise import Pseudonymiser
from cakupan.rejection_report import write_rejection_report
from cakupan.settings import Settings

# A structlog logger under Airflow's task-operator namespace (as operators log), so `cakupan run` shows
# these progress lines while it hides Airflow's own; outside Airflow structlog prints them plainly.
log = structlog.get_logger("airflow.task.operators.cakupan.nightly")

PII_KEY_CONNECTION = "cakupan_pii_key"


def pii_key(settings: Settings) -> str | None:
    """CAKUPAN_PII_KEY, else the password of the Airflow connection `cakupan_pii_key`."""
    if settings.pii_key:
        return settings.pii_key
    if not os.environ.get("AIRFLOW_HOME"):
        return None
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(PII_KEY_CONNECTION).password or None
    except Exception:  # noqa: BLE001 - no such connection, or no Airflow context: treated as "no key"
        return None


def find_exports(settings: Settings, snapshot_date: dt.date) -> list[str]:
    """Folders of complete deliveries with export_date <= D that this warehouse has not seen yet."""
    with db.connect(settings, "admin") as conn:
        db.apply_schema(conn)
        deliveries, incomplete = landing.find_deliveries(settings.landing_root, snapshot_date)
        seen = {row[0] for row in conn.execute("SELECT DISTINCT delivery_fingerprint FROM audit.file_loads")}
    for folder in incomplete:
        log.warning("%s/%s has no %s yet: still uploading, not read (the branch is late for that date).",
                    folder.parent.name, folder.name, landing.MANIFEST)
    new = [d for d in deliveries if d.fingerprint not in seen]
    log.info("%d complete deliveries up to %s, %d new, %d incomplete.", len(deliveries), snapshot_date,
             len(new), len(incomplete))
    return [str(d.folder) for d in new]


def load_export(settings: Settings, folder: str) -> dict:
    """Load (or reject, or recognise as duplicate) one delivery and write its rejection report."""
    pseudonymiser = Pseudonymiser(pii_key(settings))
    delivery = landing.delivery_at(Path(folder))
    with db.connect(settings, "loader") as conn:
        outcome = load_delivery(conn, delivery, pseudonymiser, progress=log.info)
        report = None
        if outcome.delivery_id is not None and outcome.status in ("loaded", "rejected"):
            report = write_rejection_report(conn, settings.reports_root, outcome.delivery_id)
    for file in outcome.files:
        log.info("%s %s: %s, read %d, loaded %d, rejected %d%s", outcome.label, file.file_name, file.status,
                 file.rows_read, file.rows_loaded, file.rows_rejected, f" ({file.reason})" if file.reason else "")
        if file.extra_columns:
            log.warning("%s %s: extra columns ignored: %s", outcome.label, file.file_name, ", ".join(file.extra_columns))
    if report:
        log.info("Rejection report for the branch: %s", report)
    result = asdict(outcome)
    result["export_date"] = outcome.export_date.isoformat() if outcome.export_date else None
    result["report"] = str(report) if report else None
    return result


def build_marts(settings: Settings, snapshot_date: dt.date, run_id: str | None = None) -> None:
    """dbt builds and tests the night's marts in the candidate schema; BI tools still see the published ones."""
    rubric = read_rubric(settings.award_rubric)  # a rubric that cannot be scored stops the night here
    with db.connect(settings, "transformer") as conn:
        store_rubric(conn, rubric)
        copied = publication.prepare_candidate(conn, snapshot_date)
    log.info("Candidate marts prepared from %d published tables.", copied)
    warnings: list[str] = []
    try:
        # Unit tests check the logic, not the night's data: the test suite runs them (`dbt test --select test_type:unit`).
        summary = run_dbt(settings, ["build", "--exclude-resource-type", "unit_test"], snapshot_date,
                          log=logging.getLogger("cakupan.dbt").info,
                          extra_vars={"marts_schema": publication.CANDIDATE}, warnings=warnings)
    except DbtFailed as error:
        with db.connect(settings, "loader") as conn:
            record_gate(conn, gate="dbt", snapshot_date=snapshot_date, passed=False, run_id=run_id,
                        failures=str(error).splitlines()[1:])
        raise
    with db.connect(settings, "loader") as conn:
        record_gate(conn, gate="dbt", snapshot_date=snapshot_date, passed=True, run_id=run_id, warnings=warnings)
    for warning in warnings:
        log.warning("dbt test warned: %s", warning)
    log.info("dbt build for %s: %s", snapshot_date, summary)


def publish_marts(settings: Settings, snapshot_date: dt.date, run_id: str | None = None) -> None:
    """Every gate passed: the candidate marts become the published ones, in one transaction."""
    with db.connect(settings, "transformer") as conn:
        publication.publish(conn, snapshot_date, run_id)
    log.info("Marts for %s published.", snapshot_date)
