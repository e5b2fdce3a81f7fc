"""Tell whoever runs Cakupan that something went wrong: a failed task, or marts not published in time.

An `Alert` is a subject and a body (Bahasa Indonesia first, then English) plus the same facts as a
JSON-able dict. `send_alert` posts it to CAKUPAN_ALERT_WEBHOOK_URL and/or mails it to CAKUPAN_ALERT_EMAIL
through the Airflow SMTP connection CAKUPAN_ALERT_SMTP_CONN_ID; with neither set it is only logged.
Delivery is best effort: a channel that is down is logged, never raised, so an alert can never hide or
replace the failure it reports.

`on_task_failure` is the DAGs' `on_failure_callback`. Imports stay light: the DAG files import this module.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cakupan.orchestration.airflow_support import record_task_failure, snapshot_date_of
from cakupan.settings import Settings, load_settings

log = logging.getLogger("cakupan.alerts")

# One attempt, bounded: an alert that cannot get through must not hold the worker slot for long.
WEBHOOK_TIMEOUT_SECONDS = 10
# A dbt failure can list dozens of lines; the failed checks travel separately, in full.
MAX_ERROR_CHARS = 3000


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str
    details: dict = field(default_factory=dict)

    def payload(self) -> dict:
        """What the webhook receives; `text` is what chat webhooks (Slack, Mattermost, Teams) display."""
        return {"subject": self.subject, "text": self.body, "details": self.details}


class AlertedFailure(RuntimeError):
    """A failure whose task already sent a fuller alert of its own: `on_task_failure` does not send another."""


def send_alert(alert: Alert, settings: Settings) -> list[str]:
    """Deliver to every configured channel; returns the channels that took it. Never raises."""
    delivered = []
    if settings.alert_webhook_url:
        try:
            _post_to_webhook(settings.alert_webhook_url, alert)
            delivered.append("webhook")
        except Exception as error:  # noqa: BLE001 - any failure to deliver is reported the same way
            log.error("Alert not delivered to the webhook (%s: %s): %s", type(error).__name__, error, alert.subject)
    if settings.alert_emails:
        try:
            _mail(settings.alert_emails, settings.alert_smtp_conn_id, alert)
            delivered.append("email")
        except Exception as error:  # noqa: BLE001 - any failure to deliver is reported the same way
            log.error("Alert not mailed through connection %s (%s: %s): %s", settings.alert_smtp_conn_id,
                      type(error).__name__, error, alert.subject)
    if not settings.alert_webhook_url and not settings.alert_emails:
        log.warning("No alert channel configured (CAKUPAN_ALERT_WEBHOOK_URL, CAKUPAN_ALERT_EMAIL). %s\n%s",
                    alert.subject, alert.body)
    elif delivered:
        log.info("Alert sent (%s): %s", ", ".join(delivered), alert.subject)
    return delivered


def _post_to_webhook(url: str, alert: Alert) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(alert.payload()).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "cakupan-alerts"},
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


def _mail(recipients: tuple[str, ...], conn_id: str, alert: Alert) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=list(recipients), subject=alert.subject,
                             html_content=f"<pre>{html.escape(alert.body)}</pre>")


def on_task_failure(context) -> None:
    """on_failure_callback: record why the task failed (what `cakupan run` reports), then alert."""
    try:
        record_task_failure(context)
    except Exception:  # noqa: BLE001 - the alert below must still go out
        log.exception("Could not record the task's failure for `cakupan run`.")
    if isinstance(context.get("exception"), AlertedFailure):
        return
    try:
        settings = load_settings()
        alert = task_failure_alert(context, settings)
    except Exception:  # noqa: BLE001 - Airflow would only log it too, and the task's own failure stands
        log.exception("Could not build the failure alert.")
        return
    send_alert(alert, settings)


def task_failure_alert(context, settings: Settings) -> Alert:
    ti = context["ti"]
    error = context.get("exception")
    snapshot_date = _snapshot_date(context)
    map_index = getattr(ti, "map_index", -1)
    details: dict = {
        "kind": "task_failed",
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "snapshot_date": snapshot_date.isoformat() if snapshot_date else None,
        "task_id": ti.task_id,
        "map_index": map_index if map_index is not None and map_index >= 0 else None,
        "try_number": getattr(ti, "try_number", None),
        "error_type": type(error).__name__ if error else None,
        "error": _clip(str(error)) if error else "unknown error (see the task log)",
        "failed_gates": _failed_gates(context, settings) if _is_gate_failure(error) else {},
        "log_url": _log_url(ti),
    }
    details.update(_delivery(context))

    task_label = ti.task_id + (f"[{details['map_index']}]" if details["map_index"] is not None else "")
    if "branch_code" in details:
        where = f" ({details['branch_code']}/{details['date_folder']})"
    elif details.get("deliveries"):
        where = f" ({len(details['deliveries'])} deliveries)"
    else:
        where = ""
    subject = (f"[Cakupan] Tugas gagal / Task failed: {ti.dag_id}.{task_label}{where}, "
               f"data {details['snapshot_date'] or '?'}")
    lines = [
        "Sebuah tugas Cakupan gagal. / A Cakupan task failed.",
        "",
        f"DAG: {ti.dag_id}",
        f"Run: {ti.run_id}",
        f"Tanggal data / snapshot date: {details['snapshot_date'] or '-'}",
        f"Tugas / task: {task_label} (percobaan / try {details['try_number']})",
    ]
    for delivery in details.get("deliveries", []):
        lines += ["",
                  f"Kantor cabang / branch: {delivery['branch_code']}",
                  f"Folder tanggal / date folder: {delivery['date_folder']}",
                  f"Berkas / files: {', '.join(delivery['files']) or '(tidak ada / none)'}",
                  f"Galat / error: {delivery['error_type']}: {delivery['error']}"]
    lines += gate_lines(details["failed_gates"])
    # A gate's (or a batch's) error repeats the checks (deliveries) listed above: its first line is enough.
    error_text = (details["error"].splitlines()[0] if details["failed_gates"] or details.get("deliveries")
                  else details["error"])
    lines += ["", f"Galat / error: {details['error_type'] or '-'}: {error_text}"]
    if details["log_url"]:
        lines.append(f"Log: {details['log_url']}")
    return Alert(subject, "\n".join(lines), details)


def gate_lines(failed_gates: dict[str, list[str]]) -> list[str]:
    lines = []
    for gate, checks in failed_gates.items():
        lines.append(f"Pemeriksaan yang gagal / failed checks ({gate}):")
        lines += [f"  - {check}" for check in checks] or ["  (tanpa rincian / no detail recorded)"]
    return lines


def _snapshot_date(context) -> dt.date | None:
    try:
        return snapshot_date_of(context)
    except Exception:  # noqa: BLE001 - a run without a usable date still deserves its alert
        return None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " [...]"


def _delivery(context) -> dict:
    """For a batch of branch deliveries (load_exports): each failed delivery's branch, date folder, files and
    error; when one failed, its branch, date folder and files also stand on their own."""
    from cakupan.transform.nightly import ExportsFailed

    error = context.get("exception")
    if not isinstance(error, ExportsFailed):
        return {}
    deliveries = []
    for folder, failure in error.failures:
        path = Path(folder)
        files = sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []
        deliveries.append({"branch_code": path.parent.name, "date_folder": path.name, "files": files,
                           "error_type": type(failure).__name__, "error": _clip(str(failure))})
    single = ({key: deliveries[0][key] for key in ("branch_code", "date_folder", "files")}
              if len(deliveries) == 1 else {})
    return {"deliveries": deliveries, **single}


def _is_gate_failure(error) -> bool:
    from cakupan.gates.quality import QualityGateFailed
    from cakupan.transform.dbt_runner import DbtFailed

    return isinstance(error, (QualityGateFailed, DbtFailed))


def _failed_gates(context, settings: Settings) -> dict[str, list[str]]:
    """The checks this try of the task recorded as failed in audit.gate_results (gate_log.record_gate).
    Only rows since the try started: a re-run keeps its run_id, and an earlier try's verdict is not this one's."""
    from cakupan.platform import db

    ti = context["ti"]
    try:
        with db.connect(settings, "transformer") as conn:
            rows = conn.execute(
                """SELECT gate, failures FROM audit.gate_results
                   WHERE run_id = %s AND NOT passed AND (%s::timestamptz IS NULL OR checked_at >= %s)
                   ORDER BY gate_result_id""",
                (ti.run_id, ti.start_date, ti.start_date),
            ).fetchall()
    except Exception as error:  # noqa: BLE001 - the error text below still lists the checks
        log.warning("Could not read the failed checks from audit.gate_results: %s", error)
        return {}
    failed: dict[str, list[str]] = {}
    for gate, failures in rows:
        failed.setdefault(gate, []).extend(failures)
    return failed


def _log_url(ti) -> str | None:
    """Only with `[api] base_url` set: Airflow's own fallback (localhost) would be a dead link in a mail."""
    from airflow.sdk.configuration import conf

    if not conf.get("api", "base_url", fallback=None):
        return None
    return ti.log_url
