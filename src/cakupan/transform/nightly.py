"""The steps of one night, as plain functions: the DAG's tasks call these, and so do the tests.

Each step takes the settings and the snapshot date D (the business date the branch exports describe).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import structlog

from cakupan.gates.gate_log import record_dbt_gate
from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery, open_judge
from cakupan.ingest.pseudonymise import Pseudonymiser
from cakupan.ingest.rejection_report import remake_missing_reports, write_rejection_report
from cakupan.ingest.termination import stop_cleanly_on_sigterm
from cakupan.orchestration.airflow_support import TRANSIENT_ERROR_NAMES
from cakupan.platform import db
from cakupan.publish import publication
from cakupan.reference import reference_layer
from cakupan.settings import Settings
from cakupan.transform.award_rubric import read_rubric, store_rubric
from cakupan.transform.dbt_runner import DbtFailed, run_dbt
from cakupan.transform.participant_changes import record_participant_changes

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
    """Folders of complete deliveries with export_date <= D that this warehouse has not seen yet. First, the
    reports a full disk kept an earlier night from writing are re-made: once a night, new deliveries or not."""
    with db.connect(settings, "admin") as conn:
        db.apply_schema(conn)
        _remake_missing_reports(conn, settings)
        deliveries, incomplete = landing.find_deliveries(settings.landing_root, snapshot_date)
        seen = {row[0] for row in conn.execute("SELECT DISTINCT delivery_fingerprint FROM audit.file_loads")}
    for folder in incomplete:
        log.warning("%s/%s has no %s yet: still uploading, not read (the branch is late for that date).",
                    folder.parent.name, folder.name, landing.MANIFEST)
    new = [d for d in deliveries if d.fingerprint not in seen]
    log.info("%d complete deliveries up to %s, %d new, %d incomplete.", len(deliveries), snapshot_date,
             len(new), len(incomplete))
    return [str(d.folder) for d in new]


def _remake_missing_reports(conn, settings: Settings) -> None:
    try:
        for path in remake_missing_reports(conn, settings.reports_root):
            log.info("Rejection report re-made (its night could not write it): %s", path)
    except OSError as error:
        log.warning("Missing rejection reports not re-made (%s); the next night tries again.", error.strerror)


def _error_class(name: str) -> type[BaseException]:
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


# A failed delivery whose error is one of these may load on a retry (the warehouse was out of reach).
TRANSIENT_ERRORS = tuple(_error_class(name) for name in TRANSIENT_ERROR_NAMES)


class ExportsFailed(RuntimeError):
    """Some deliveries of a batch could not be loaded (not rejected: failed); the others were loaded."""

    def __init__(self, failures: list[tuple[str, BaseException]], of: int):
        self.failures = failures
        lines = [f"{Path(folder).parent.name}/{Path(folder).name}: {type(error).__name__}: {error}"
                 for folder, error in failures]
        super().__init__(f"{len(failures)} of {of} deliveries failed to load:\n" + "\n".join(lines))


class ExportsUnreachable(ExportsFailed):
    """Every failure was the warehouse out of reach: worth a retry (the loaded deliveries are then seen)."""


def batch_exports(folders: list[str], batches: int) -> list[list[str]]:
    """The deliveries in up to `batches` groups of about equal size in bytes, one load task each.

    Not one task a delivery: starting a task costs Airflow more of a slot than most branches take to load
    (docs/decisions.md, change 1). A branch's deliveries stay
    in one group, in date order, so a branch's dates load in the order they happened."""
    by_branch: dict[str, list[str]] = {}
    for folder in folders:
        by_branch.setdefault(Path(folder).parent.name, []).append(folder)

    def size(branch: str) -> int:
        return sum(f.stat().st_size for folder in by_branch[branch] for f in Path(folder).iterdir() if f.is_file())

    groups: list[list[str]] = [[] for _ in range(min(batches, len(by_branch)))]
    totals = [0] * len(groups)
    sizes = {branch: size(branch) for branch in by_branch}
    for branch in sorted(by_branch, key=lambda b: (-sizes[b], b)):  # largest first: the groups even out
        smallest = totals.index(min(totals))
        groups[smallest] += by_branch[branch]
        totals[smallest] += sizes[branch]
    return [sorted(group, key=lambda folder: (Path(folder).name, Path(folder).parent.name)) for group in groups]


def load_exports(settings: Settings, folders: list[str]) -> list[dict]:
    """Load a batch of deliveries one after another, each in its own transaction, on one connection with one
    judge. A delivery that fails (rather than being rejected) does not stop the others; the batch then
    fails naming every one. SIGTERM stops it cleanly: the delivery being loaded is rolled back."""
    outcomes: list[dict] = []
    failures: list[tuple[str, BaseException]] = []
    pseudonymiser = Pseudonymiser(pii_key(settings))
    with stop_cleanly_on_sigterm(), db.connect(settings, "loader") as conn, open_judge(conn, pseudonymiser) as judge:
        for number, folder in enumerate(folders, start=1):
            log.info("Delivery %d of %d: %s", number, len(folders), folder)
            try:
                outcomes.append(_load_one(settings, conn, folder, pseudonymiser, judge))
            except Exception as error:  # noqa: BLE001 - reported with the others at the end of the batch
                log.exception("Could not load %s", folder)
                failures.append((folder, error))
        _record_changes(conn, outcomes)
    if failures:
        transient = all(isinstance(error, TRANSIENT_ERRORS) for _, error in failures)
        raise (ExportsUnreachable if transient else ExportsFailed)(failures, of=len(folders))
    return outcomes


def load_export(settings: Settings, folder: str) -> dict:
    """Load (or reject, or recognise as duplicate) one delivery and write its rejection report."""
    with stop_cleanly_on_sigterm(), db.connect(settings, "loader") as conn:
        outcome = _load_one(settings, conn, folder, Pseudonymiser(pii_key(settings)))
        _record_changes(conn, [outcome])
        return outcome


def _record_changes(conn, outcomes: list[dict]) -> None:
    loaded = [outcome["delivery_id"] for outcome in outcomes if outcome["status"] == "loaded"]
    if loaded:
        started = time.perf_counter()
        compared, changes = record_participant_changes(conn, loaded)
        log.info("Participants of %d deliveries compared with each branch's previous delivery: %d changes "
                 "recorded in %.1f s.", compared, changes, time.perf_counter() - started)


def _load_one(settings: Settings, conn, folder: str, pseudonymiser: Pseudonymiser, judge=None) -> dict:
    delivery = landing.delivery_at(Path(folder))
    outcome = load_delivery(conn, delivery, pseudonymiser, progress=log.info, judge=judge)
    report = None
    if outcome.delivery_id is not None and outcome.status in ("loaded", "rejected"):
        try:
            report = write_rejection_report(conn, settings.reports_root, outcome.delivery_id)
        except OSError as error:
            # The delivery is committed; the next night's find_exports re-makes its report.
            log.warning("%s: rejection report not written (%s); the next night writes it.", delivery.label,
                        error.strerror)
    for file in outcome.files:
        log.info("%s %s: %s, read %d, loaded %d, rejected %d%s", outcome.label, file.file_name, file.status,
                 file.rows_read, file.rows_loaded, file.rows_rejected, f" ({file.reason})" if file.reason else "")
        if file.extra_columns:
            log.warning("%s %s: extra columns ignored: %s", outcome.label, file.file_name,
                        ", ".join(file.extra_columns))
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
        copied = publication.prepare_candidate(conn, snapshot_date, run_id)
    log.info("Candidate marts prepared from %d published tables.", copied)
    warnings: list[str] = []
    try:
        summary = build_candidate_marts(settings, snapshot_date, dbt_log=logging.getLogger("cakupan.dbt").info,
                                        warnings=warnings)
    except DbtFailed as error:
        record_dbt_gate(settings, snapshot_date, run_id, passed=False, failures=str(error).splitlines()[1:])
        raise
    record_dbt_gate(settings, snapshot_date, run_id, passed=True, warnings=warnings)
    for warning in warnings:
        log.warning("dbt test warned: %s", warning)
    log.info("dbt build for %s: %s", snapshot_date, summary)


def build_candidate_marts(settings: Settings, snapshot_date: dt.date, full_refresh: bool = False,
                          dbt_log: Callable[[str], None] = print, warnings: list[str] | None = None) -> str:
    """The night's `dbt build` into the candidate schema (what `make bench` times as the nightly build): every
    model and data test, but the reference layer only when it changed since a build passed with it
    (reference_layer.py). Unit tests check the logic, not the night's data: the test suite runs them
    (`dbt test --select test_type:unit`)."""
    with db.connect(settings, "transformer") as conn:
        reference = reference_layer.current(conn, settings.dbt_project_dir)
    command = ["build", "--exclude-resource-type", "unit_test"]
    if full_refresh:
        command.append("--full-refresh")
    elif reference.built_at:
        log.info("Reference layer unchanged since the build of %s that tested it: its staging views and their "
                 "tests are left as they are.", reference.built_at[:19])
        command += ["--exclude", reference_layer.SELECTOR]
    summary = run_dbt(settings, command, snapshot_date, log=dbt_log,
                      extra_vars={"marts_schema": publication.CANDIDATE}, warnings=warnings)
    if full_refresh or not reference.built_at:
        with db.connect(settings, "transformer") as conn:
            reference_layer.record_build(conn, reference)
    return summary


def publish_marts(settings: Settings, snapshot_date: dt.date, run_id: str | None = None,
                 lease_id: str | None = None) -> None:
    """Every gate passed: the candidate marts become the published ones, in one transaction (only this run's
    candidate, while the run holds the night lease `lease_id`)."""
    with db.connect(settings, "transformer") as conn:
        publication.publish(conn, snapshot_date, run_id, lease_id=lease_id)
    log.info("Marts for %s published.", snapshot_date)
