"""The publish-by check: by CAKUPAN_PUBLISH_BY (WIB) the marts of the night before must be published.

When they are not, one alert says which date is missing, the last date BI tools do have, the gates that
failed for that date (audit.gate_results) and the branches whose export for it has not arrived; then the
check fails, so Airflow shows the day red. psycopg is imported only when checking: the DAG file imports this.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from cakupan.orchestration.alerts import Alert, AlertedFailure, gate_lines, send_alert
from cakupan.settings import Settings

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("cakupan.publication_deadline")

_HOUR_MINUTE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class PublicationMissed(AlertedFailure):
    pass


@dataclass(frozen=True)
class LateBranch:
    branch_code: str
    branch_name: str | None
    last_export_date: dt.date | None

    def days_late(self, snapshot_date: dt.date) -> int | None:
        return (snapshot_date - self.last_export_date).days if self.last_export_date else None


@dataclass(frozen=True)
class PublicationStatus:
    snapshot_date: dt.date
    published: bool
    last_published: dt.date | None
    gates_checked: list[str] = field(default_factory=list)
    failed_gates: dict[str, list[str]] = field(default_factory=dict)
    late_branches: list[LateBranch] = field(default_factory=list)


def publish_by_cron(publish_by: str) -> str:
    """'06:00' -> '0 6 * * *' (the DAG's timezone makes it WIB)."""
    match = _HOUR_MINUTE.fullmatch(publish_by.strip())
    if not match:
        raise ValueError(f"CAKUPAN_PUBLISH_BY must be a time of day as HH:MM (WIB), not {publish_by!r}.")
    return f"{int(match.group(2))} {int(match.group(1))} * * *"


def publication_status(conn: psycopg.Connection, snapshot_date: dt.date) -> PublicationStatus:
    published, last_published = conn.execute(
        "SELECT bool_or(snapshot_date = %s), max(snapshot_date) FROM audit.publications", (snapshot_date,)
    ).fetchone()
    verdicts = conn.execute(
        """SELECT DISTINCT ON (gate) gate, passed, failures FROM audit.gate_results
           WHERE snapshot_date = %s ORDER BY gate, gate_result_id DESC""", (snapshot_date,)
    ).fetchall()
    return PublicationStatus(
        snapshot_date=snapshot_date,
        published=bool(published),
        last_published=last_published,
        gates_checked=[gate for gate, _, _ in verdicts],
        failed_gates={gate: list(failures) for gate, passed, failures in verdicts if not passed},
        late_branches=late_branches(conn, snapshot_date),
    )


def late_branches(conn: psycopg.Connection, snapshot_date: dt.date) -> list[LateBranch]:
    """Branches without an accepted export dated D. Unlike intermediate.int_branch_freshness this counts
    deliveries still waiting for (or failing) the raw gate, since the question is whether the branch sent
    it; and it is for D whatever date dbt last built, which is older when the night stopped before dbt."""
    rows = conn.execute(
        """SELECT b.kode_cabang, b.nama_cabang, max(d.export_date)
           FROM reference.branches b
           LEFT JOIN raw.deliveries d ON d.kode_cabang = b.kode_cabang AND d.export_date <= %(d)s
           GROUP BY b.kode_cabang, b.nama_cabang
           HAVING max(d.export_date) IS DISTINCT FROM %(d)s::date
           ORDER BY max(d.export_date) NULLS FIRST, b.kode_cabang""", {"d": snapshot_date}
    ).fetchall()
    return [LateBranch(*row) for row in rows]


def check_publication(settings: Settings, snapshot_date: dt.date, *, dag_id: str, run_id: str) -> PublicationStatus:
    """Quiet when D's marts are published; otherwise alert and raise PublicationMissed."""
    from cakupan.platform import db

    with db.connect(settings, "transformer") as conn:
        status = publication_status(conn, snapshot_date)
    if status.published:
        log.info("Marts for %s are published.", snapshot_date)
        return status
    alert = missed_publication_alert(status, publish_by=settings.publish_by, dag_id=dag_id, run_id=run_id)
    send_alert(alert, settings)
    raise PublicationMissed(alert.subject + "\n" + alert.body)


def missed_publication_alert(status: PublicationStatus, *, publish_by: str, dag_id: str, run_id: str) -> Alert:
    date = status.snapshot_date
    details = {
        "kind": "publication_missed",
        "dag_id": dag_id,
        "run_id": run_id,
        "snapshot_date": date.isoformat(),
        "publish_by": publish_by,
        "last_published": status.last_published.isoformat() if status.last_published else None,
        "gates_checked": status.gates_checked,
        "failed_gates": status.failed_gates,
        "late_branches": [
            {**asdict(branch), "last_export_date": branch.last_export_date.isoformat() if branch.last_export_date
             else None, "days_late": branch.days_late(date)}
            for branch in status.late_branches
        ],
    }
    subject = (f"[Cakupan] Data {date} belum diterbitkan pukul {publish_by} WIB / "
               f"Marts of {date} not published by {publish_by} WIB")
    last = status.last_published.isoformat() if status.last_published else "belum pernah / never"
    lines = [
        f"Mart data {date} belum diterbitkan pada batas waktu {publish_by} WIB.",
        f"The marts of {date} were not published by the {publish_by} WIB deadline.",
        "",
        f"Terakhir diterbitkan / last published: {last}",
    ]
    if not status.gates_checked:
        lines.append(f"Belum ada gerbang mutu yang berjalan untuk {date} (run malam tidak berjalan, atau berhenti "
                     "sebelumnya). / No quality gate ran for this date: the nightly run did not run, or stopped "
                     "before its first gate.")
    elif not status.failed_gates:
        lines.append(f"Gerbang yang berjalan lulus / the gates that ran passed: {', '.join(status.gates_checked)}.")
    lines += gate_lines(status.failed_gates)
    if status.late_branches:
        lines.append(f"Kantor cabang tanpa ekspor {date} / branches without an export for {date}:")
        for branch, listed in zip(status.late_branches, details["late_branches"], strict=True):
            name = f"{branch.branch_code} {branch.branch_name}" if branch.branch_name else branch.branch_code
            since = (f"ekspor terakhir / last export {listed['last_export_date']} ({listed['days_late']} hari / days)"
                     if branch.last_export_date else "belum pernah mengirim / never delivered")
            lines.append(f"  - {name}: {since}")
    else:
        lines.append(f"Semua kantor cabang mengirim ekspor {date}. / Every branch delivered its export for {date}.")
    lines += ["", f"DAG: {dag_id}", f"Run: {run_id}"]
    return Alert(subject, "\n".join(lines), details)
