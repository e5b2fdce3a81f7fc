"""Failure alerts and the publish-by deadline, through Airflow itself (`dag.test()`): a task that fails as
the nightly's do reaches a webhook on loopback and a local SMTP sink with the branch, files, task and failed
checks; an alert that cannot be delivered leaves the failure as it was; the deadline DAG is quiet when the
night was published and alerts and fails when it was not."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pendulum
import pytest

PROBES = Path(__file__).parents[1] / "fixtures" / "alert_dags"
D = dt.date(2026, 11, 20)
WIB = "Asia/Jakarta"
# As quality._describe words a failed expectation.
FAILED_CHECKS = [
    "marts_coverage_province: Uji gerbang: 39 provinsi [expect_table_row_count_to_equal] (observed 38)",
    "marts_coverage_district.coverage_rate: Cakupan antara 0 dan 1 [expect_column_values_to_be_between] "
    "(2 rows break it, e.g. [1.2, 1.5])",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.server.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    """A webhook receiver on loopback; yields the JSON bodies it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CAKUPAN_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/hooks/cakupan")
    yield server.received
    server.shutdown()
    server.server_close()


class _Inbox:
    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink(monkeypatch):
    """An SMTP server on loopback behind Airflow's default SMTP connection; yields the messages it received."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"from_email": "cakupan@localhost", "disable_ssl": True, "disable_tls": True, "retry_limit": 0,
                  "timeout": 5},
    }))
    monkeypatch.setenv("CAKUPAN_ALERT_EMAIL", "ops@example.org, data@example.org")
    yield inbox.messages
    controller.stop()


@pytest.fixture
def probes(settings, monkeypatch):
    """The DAGs of tests/fixtures/alert_dags, in a bundle of their own beside the project's DAG folder
    (dag.test() runs only DAGs that a configured bundle holds)."""
    from airflow.dag_processing.dagbag import DagBag

    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([
        {"name": "dags-folder", "classpath": local, "kwargs": {}},
        {"name": "cakupan-alert-probes", "classpath": local, "kwargs": {"path": str(PROBES)}},
    ]))
    bag = DagBag(dag_folder=str(PROBES))
    assert bag.import_errors == {}
    return bag.dags


def _nightly_logical_date(snapshot_date: dt.date) -> pendulum.DateTime:
    return pendulum.datetime(snapshot_date.year, snapshot_date.month, snapshot_date.day, 1, tz=WIB).add(days=1)


def _states(run) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id:
            str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def _recorded_failures(run) -> list[dict]:
    from cakupan.orchestration.airflow_support import failures_file

    path = failures_file(run.run_id)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _mail_text(message) -> str:
    return message.get_body(preferencelist=("html", "plain")).get_content()


def test_a_failed_load_alerts_webhook_and_mail_with_branch_folder_and_files(probes, webhook, smtp_sink, tmp_path):
    # Listed by find_exports, then the branches took their manifests away to upload again.
    solok = tmp_path / "landing" / "SOLOK" / D.isoformat()
    padang = tmp_path / "landing" / "PADANG" / D.isoformat()
    for folder, files in ((solok, ("peserta.csv", "iuran.csv")), (padang, ("peserta.xlsx",))):
        folder.mkdir(parents=True)
        for name in files:
            (folder / name).write_text("kpj;nik\n")

    # Two load tasks of one delivery each: SOLOK's files are the larger, so it fills the first batch.
    run = probes["alert_probe_load"].test(logical_date=_nightly_logical_date(D),
                                          run_conf={"folders": [str(solok), str(padang)], "batches": 2})

    assert _states(run) == {"find_exports": "success", "load_exports[0]": "failed", "load_exports[1]": "failed"}
    by_index = {payload["details"]["map_index"]: payload for payload in webhook}
    assert sorted(by_index) == [0, 1]
    solok_alert = by_index[0]["details"]
    assert {key: solok_alert[key] for key in ("kind", "dag_id", "run_id", "snapshot_date", "task_id", "map_index",
                                              "branch_code", "date_folder", "files", "error_type", "failed_gates",
                                              "log_url")} == {
        "kind": "task_failed", "dag_id": "alert_probe_load", "run_id": run.run_id, "snapshot_date": "2026-11-20",
        "task_id": "load_exports", "map_index": 0, "branch_code": "SOLOK", "date_folder": "2026-11-20",
        "files": ["iuran.csv", "peserta.csv"], "error_type": "ExportsFailed", "failed_gates": {},
        "log_url": None,
    }
    (failed,) = solok_alert["deliveries"]
    assert failed["error_type"] == "FileNotFoundError"
    assert failed["error"].endswith("SOLOK/2026-11-20/_manifest.json'")
    assert (by_index[1]["details"]["branch_code"], by_index[1]["details"]["files"]) == ("PADANG", ["peserta.xlsx"])
    assert by_index[0]["subject"] == ("[Cakupan] Tugas gagal / Task failed: alert_probe_load.load_exports[0] "
                                      "(SOLOK/2026-11-20), data 2026-11-20")
    assert "Kantor cabang / branch: SOLOK\nFolder tanggal / date folder: 2026-11-20\n" \
           "Berkas / files: iuran.csv, peserta.csv\nGalat / error: FileNotFoundError: " in by_index[0]["text"]

    # The same summary by mail, to every address of CAKUPAN_ALERT_EMAIL.
    assert len(smtp_sink) == 2
    recipients, message = next((r, m) for r, m in smtp_sink if "load_exports[0]" in m["Subject"])
    assert recipients == ["ops@example.org", "data@example.org"]
    assert message["Subject"] == by_index[0]["subject"] and message["From"] == "cakupan@localhost"
    assert "Berkas / files: iuran.csv, peserta.csv" in _mail_text(message)
    assert "Galat / error: ExportsFailed: 1 of 1 deliveries failed to load:" in _mail_text(message)

    # What record_task_failure kept for `cakupan run` is still kept.
    assert sorted((f["task_id"], f["map_index"], f["error_type"]) for f in _recorded_failures(run)) == [
        ("load_exports", 0, "ExportsFailed"), ("load_exports", 1, "ExportsFailed")]


def test_one_load_task_alerts_once_for_every_delivery_of_its_batch_that_failed(probes, webhook, tmp_path):
    folders = []
    for branch in ("SOLOK", "PADANG"):
        folder = tmp_path / "landing" / branch / D.isoformat()
        folder.mkdir(parents=True)
        (folder / "peserta.csv").write_text("kpj;nik\n")
        folders.append(str(folder))

    run = probes["alert_probe_load"].test(logical_date=_nightly_logical_date(D),
                                          run_conf={"folders": folders, "batches": 1})

    assert _states(run) == {"find_exports": "success", "load_exports[0]": "failed"}
    (alert,) = webhook
    assert alert["subject"].endswith("load_exports[0] (2 deliveries), data 2026-11-20")
    assert [(d["branch_code"], d["error_type"]) for d in alert["details"]["deliveries"]] == [
        ("PADANG", "FileNotFoundError"), ("SOLOK", "FileNotFoundError")]
    assert "branch_code" not in alert["details"]


def test_a_failed_quality_gate_alert_names_each_failed_check(probes, webhook, monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.cakupan.example")
    run = probes["alert_probe_gate"].test(logical_date=_nightly_logical_date(D),
                                          run_conf={"failed_checks": FAILED_CHECKS})

    assert _states(run) == {"validate_marts": "failed"}
    [payload] = webhook
    details = payload["details"]
    assert (details["task_id"], details["map_index"], details["snapshot_date"], details["error_type"]) == (
        "validate_marts", None, "2026-11-20", "QualityGateFailed")
    assert details["failed_gates"] == {"gx_marts": FAILED_CHECKS}
    assert "branch_code" not in details
    assert payload["subject"] == ("[Cakupan] Tugas gagal / Task failed: alert_probe_gate.validate_marts, "
                                  "data 2026-11-20")
    assert details["log_url"] == (f"https://airflow.cakupan.example/dags/alert_probe_gate/runs/"
                                  f"{quote(run.run_id)}/tasks/validate_marts?try_number=1")
    assert payload["text"] == "\n".join([
        "Sebuah tugas Cakupan gagal. / A Cakupan task failed.",
        "",
        "DAG: alert_probe_gate",
        f"Run: {run.run_id}",
        "Tanggal data / snapshot date: 2026-11-20",
        "Tugas / task: validate_marts (percobaan / try 1)",
        "Pemeriksaan yang gagal / failed checks (gx_marts):",
        *(f"  - {check}" for check in FAILED_CHECKS),
        "",
        "Galat / error: QualityGateFailed: The marts quality gate failed (2 errors of 12 checks); "
        "nothing after it is published:",
        f"Log: {details['log_url']}",
    ])


def test_an_alert_that_cannot_be_delivered_leaves_the_failure_as_it_was(probes, monkeypatch, caplog):
    closed = _free_port()  # nothing listens there: refused at once
    monkeypatch.setenv("CAKUPAN_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{closed}/hook")
    monkeypatch.setenv("CAKUPAN_ALERT_EMAIL", "ops@example.org")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": closed,
        "extra": {"from_email": "cakupan@localhost", "disable_ssl": True, "disable_tls": True, "retry_limit": 0}}))

    run = probes["alert_probe_gate"].test(logical_date=_nightly_logical_date(D),
                                          run_conf={"failed_checks": FAILED_CHECKS})

    assert _states(run) == {"validate_marts": "failed"}
    assert [(f["task_id"], f["error_type"]) for f in _recorded_failures(run)] == [
        ("validate_marts", "QualityGateFailed")]
    assert "Alert not delivered to the webhook (URLError" in caplog.text
    assert "Alert not mailed through connection smtp_default (ConnectionRefusedError" in caplog.text


def _deadline_dag():
    from airflow.dag_processing.dagbag import DagBag

    from cakupan.settings import load_settings

    bag = DagBag(dag_folder=str(load_settings().dags_dir))
    assert bag.import_errors == {}
    return bag.dags["cakupan_publication_deadline"]


def _deadline_logical_date(snapshot_date: dt.date, hour: int, minute: int) -> pendulum.DateTime:
    day = pendulum.datetime(snapshot_date.year, snapshot_date.month, snapshot_date.day, hour, minute, tz=WIB)
    return day.add(days=1)


def test_the_deadline_passes_quietly_when_the_night_was_published(empty_warehouse, webhook):
    empty_warehouse.execute("INSERT INTO audit.publications (snapshot_date, run_id) VALUES (%s, 'nightly')", (D,))
    dag = _deadline_dag()
    assert (dag.timetable.expression, str(dag.timetable.timezone), dag.catchup) == ("0 6 * * *", WIB, False)

    run = dag.test(logical_date=_deadline_logical_date(D, 6, 0))

    assert _states(run) == {"check_publication": "success"}
    assert webhook == []


def test_a_missed_deadline_alerts_with_the_date_gates_and_late_branches(empty_warehouse, webhook, monkeypatch):
    conn = empty_warehouse
    monkeypatch.setenv("CAKUPAN_PUBLISH_BY", "07:30")
    conn.execute("INSERT INTO audit.publications (snapshot_date, run_id) VALUES (%s, 'nightly')",
                 (D - dt.timedelta(days=1),))
    conn.execute("""INSERT INTO audit.gate_results (snapshot_date, gate, run_id, passed, failures) VALUES
                    (%(d)s, 'gx_raw', 'r', true, '{}'),
                    (%(d)s, 'dbt', 'r', false, '{"branch_delivered_within_error_days: 1 row"}')""", {"d": D})
    conn.execute("""INSERT INTO reference.branches (kode_cabang, nama_cabang, kanwil) VALUES
                    ('SOLOK', 'Solok', 'Sumbagut'), ('PADANG', 'Padang', 'Sumbagut'), ('AGAM', 'Agam', 'Sumbagut')""")
    conn.execute("""INSERT INTO raw.deliveries (delivery_id, kode_cabang, export_date, content_sha256) VALUES
                    (1, 'SOLOK', %(d)s, 'a'), (2, 'PADANG', %(d)s::date - 3, 'b'),
                    (3, 'PADANG', %(d)s::date + 1, 'c')""", {"d": D})
    dag = _deadline_dag()
    assert dag.timetable.expression == "30 7 * * *"

    run = dag.test(logical_date=_deadline_logical_date(D, 7, 30))

    assert _states(run) == {"check_publication": "failed"}
    [payload] = webhook  # the task's own alert; on_task_failure sends no second one
    assert payload["subject"] == ("[Cakupan] Data 2026-11-20 belum diterbitkan pukul 07:30 WIB / "
                                  "Marts of 2026-11-20 not published by 07:30 WIB")
    details = payload["details"]
    assert {key: value for key, value in details.items() if key != "run_id"} == {
        "kind": "publication_missed", "dag_id": "cakupan_publication_deadline", "snapshot_date": "2026-11-20",
        "publish_by": "07:30", "last_published": "2026-11-19", "gates_checked": ["dbt", "gx_raw"],
        "failed_gates": {"dbt": ["branch_delivered_within_error_days: 1 row"]},
        "late_branches": [
            {"branch_code": "AGAM", "branch_name": "Agam", "last_export_date": None, "days_late": None},
            {"branch_code": "PADANG", "branch_name": "Padang", "last_export_date": "2026-11-17", "days_late": 3},
        ],
    }
    assert details["run_id"] == run.run_id
    assert "Terakhir diterbitkan / last published: 2026-11-19" in payload["text"]
    assert "  - PADANG Padang: ekspor terakhir / last export 2026-11-17 (3 hari / days)" in payload["text"]
    assert "  - AGAM Agam: belum pernah mengirim / never delivered" in payload["text"]
    assert [(f["task_id"], f["error_type"]) for f in _recorded_failures(run)] == [
        ("check_publication", "PublicationMissed")]
