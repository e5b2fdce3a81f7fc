"""Airflow as its own services (`cakupan airflow up`: api-server, scheduler, dag-processor, triggerer with the
LocalExecutor, metadata on the embedded PostgreSQL), driven through its public REST API as an external client
would: a night that publishes, then a night that fails its raw gate and publishes nothing. Then the same stack
with the CeleryExecutor, a Redis broker and three Celery workers: the night's loads spread over them, and the
marts equal the LocalExecutor's."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cakupan.orchestration.dag_run import DAG_ID, DOCS_DAG_ID
from cakupan.platform.airflow_client import AirflowClient
from cakupan.platform.airflow_services import celery_inspect, service_environment
from cakupan.platform.local_ports import free_port
from cakupan.reference.loader import load_reference
from cakupan.settings import load_settings
from cakupan.transform import nightly
from delivery_builder import write_delivery
from published_marts import fingerprint
from warehouse_reset import empty

pytestmark = pytest.mark.slow


class Webhook(ThreadingHTTPServer):
    """A loopback HTTP server that keeps every JSON body POSTed to it (the alert channel)."""

    def __init__(self):
        self.received: list[dict] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                webhook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


def _cakupan(*arguments: str, timeout: float = 360) -> str:
    result = subprocess.run([sys.executable, "-m", "cakupan.cli", *arguments], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _listening_ports() -> set[int]:
    """The TCP ports something on this machine listens on, any address (/proc/net/tcp and tcp6)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A":  # LISTEN
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def _branch_rows(settings, branch: str, date: str) -> list[dict[str, str]]:
    with (settings.landing_root / branch / date / "peserta.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_nightly_dag_under_a_real_scheduler_through_the_rest_api(small_night, empty_warehouse, monkeypatch):
    conn = empty_warehouse
    webhook = Webhook()
    monkeypatch.setenv("CAKUPAN_AIRFLOW_PORT", str(free_port()))
    # Only the runs this test triggers: the 01:00 schedule would add a run of its own.
    monkeypatch.setenv("CAKUPAN_NIGHTLY_SCHEDULE", "none")
    monkeypatch.setenv("CAKUPAN_ALERT_WEBHOOK_URL", webhook.url)
    settings = load_settings()
    try:
        printed = _cakupan("airflow", "up", "--show-password")
        base_url = re.search(r"Airflow is up \(LocalExecutor\): (\S+)", printed).group(1)
        username, password = re.search(r"login: (\S+) / (\S+)", printed).groups()
        # Without --show-password (the stack already runs: `up` only reports it) the login's password is masked.
        again = _cakupan("airflow", "up")
        assert password not in again and "login: admin / ***" in again
        # No log server (Airflow's would listen on every interface at 8793 and 8794): none is started.
        assert not {8793, 8794} & _listening_ports()
        client = AirflowClient(base_url, username, password)
        for dag_id in (DAG_ID, DOCS_DAG_ID):
            client.wait_for_dag(dag_id)
            client.unpause(dag_id)

        first_date = dt.date(2026, 11, 20)
        first = client.trigger(DAG_ID, first_date)
        assert client.wait_for_run(DAG_ID, first) == "success", client.task_states(DAG_ID, first)
        assert conn.execute("SELECT count(*), sum(covered_persons) FROM marts.coverage_province "
                            "WHERE snapshot_date = %s", (first_date,)).fetchone() == (38, 12)
        published = fingerprint(conn)
        # The api-server reads the task logs from the shared log folder, without a log server to ask.
        log = client.get(f"/dags/{DAG_ID}/dagRuns/{first}/taskInstances/find_exports/logs/1?full_content=true")
        assert "complete deliveries up to 2026-11-20" in json.dumps(log)
        # The night's asset event starts the docs site DAG: the scheduler's data-aware scheduling, not a trigger.
        docs_run = client.wait_for_asset_triggered_run(DOCS_DAG_ID)
        assert client.wait_for_run(DOCS_DAG_ID, docs_run) == "success"
        assert "Sumatera Barat" in (settings.docs_dir / "index.html").read_text()

        # A delivery loaded, then one of its rows lost behind the loader's back before the raw gate ran.
        next_date = first_date + dt.timedelta(days=1)
        rows = _branch_rows(settings, "SAWAHLUNTO", first_date.isoformat())
        folder = write_delivery(settings.landing_root, "SAWAHLUNTO", next_date.isoformat(), rows)
        delivery_id = nightly.load_export(settings, str(folder))["delivery_id"]
        conn.execute("DELETE FROM raw.peserta WHERE delivery_id = %s AND row_number = 1", (delivery_id,))

        second = client.trigger(DAG_ID, next_date)
        assert client.wait_for_run(DAG_ID, second) == "failed"
        states = client.task_states(DAG_ID, second)
        assert states["validate_raw"] == "failed"
        assert states["dbt_build"] == states["publish_marts"] == "upstream_failed"
        assert fingerprint(conn) == published
        (passed, failures), = conn.execute(
            "SELECT passed, failures FROM audit.gate_results WHERE snapshot_date = %s AND gate = 'gx_raw'",
            (next_date,)).fetchall()
        assert not passed and any("raw_accounting" in failure for failure in failures)
        # The failed gate alerted the configured webhook, from the scheduler's own task process.
        alerts = [alert["details"] for alert in webhook.received if alert["details"].get("run_id") == second]
        assert [(a["task_id"], a["snapshot_date"]) for a in alerts] == [("validate_raw", next_date.isoformat())]
        assert "raw_accounting" in json.dumps(alerts[0]["failed_gates"])
        assert alerts[0]["log_url"].startswith(base_url)
    finally:
        _cakupan("airflow", "down")
        webhook.shutdown()
    assert not (settings.airflow_home / "services.json").exists()


def _every_mart(conn) -> dict[str, tuple[int, str]]:
    """Rows and a digest of every table of marts (the published marts, the award's included)."""
    tables = [name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' AND table_type = 'BASE TABLE' "
        "ORDER BY 1")]
    return {table: conn.execute(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM marts.{table} t"
    ).fetchone() for table in tables}


def _only_the_night_runs(client: AirflowClient, celery_environment: dict[str, str] | None = None,
                         timeout_s: float = 120) -> None:
    """The nightly DAG unpaused, every other DAG paused (this suite's Airflow database may have unpaused them),
    no run of any DAG left unfinished by an earlier stack, no task still queued or running, and (under Celery)
    every worker idle: a task of a run marked failed goes on in its worker until the server tells it to stop."""
    for dag in client.get("/dags")["dags"]:
        client.fail_unfinished_runs(dag["dag_id"])
        if dag["dag_id"] == DAG_ID:
            client.unpause(DAG_ID)
        elif not dag["is_paused"]:
            client.pause(dag["dag_id"])
    deadline = time.monotonic() + timeout_s
    while busy := client.get("/dags/~/dagRuns/~/taskInstances?state=queued&state=running")["task_instances"]:
        assert time.monotonic() < deadline, f"tasks still hold the workers: {busy}"
        time.sleep(2)
    while celery_environment and (active := _celery_tasks_running(celery_environment)):
        assert time.monotonic() < deadline, f"Celery workers still busy: {active}"
        time.sleep(2)


def _celery_tasks_running(environment: dict[str, str]) -> dict[str, int]:
    """Per Celery worker, the tasks it is executing now (Celery's own `inspect active`)."""
    replies = celery_inspect(environment, "active")
    assert replies is not None, "no Celery worker answered `inspect active`"
    return {worker: len(tasks) for worker, tasks in replies.items() if tasks}


# Three: the worker that ran find_exports is still ending it when the loads are queued (its workload ended 5 s
# after the task's success in a CI run's worker log), so with two, the one idle worker took both loads in turn.
WORKERS = 3


def test_a_night_on_celery_workers_publishes_what_the_local_executor_does(small_night, empty_warehouse,
                                                                          monkeypatch):
    conn = empty_warehouse
    monkeypatch.setenv("CAKUPAN_AIRFLOW_PORT", str(free_port()))
    monkeypatch.setenv("CAKUPAN_NIGHTLY_SCHEDULE", "none")
    # Only the night runs: a task of another DAG (the publication deadline's check), or of a night an earlier
    # test's stack left unfinished, holding a worker when the loads are queued would leave both loads to the other.
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    date = dt.date(2026, 11, 20)
    marts = {}
    for executor, options in (("celery", ("--executor", "celery", "--workers", str(WORKERS))), ("local", ())):
        try:
            printed = _cakupan("airflow", "up", "--show-password", *options)
            base_url = re.search(r"Airflow is up \((\w+)Executor[^)]*\): (\S+)", printed).group(2)
            client = AirflowClient(base_url, *re.search(r"login: (\S+) / (\S+)", printed).groups())
            client.wait_for_dag(DAG_ID)
            _only_the_night_runs(client, service_environment(small_night, "celery", WORKERS)
                                 if executor == "celery" else None)
            run = client.trigger(DAG_ID, date)
            assert client.wait_for_run(DAG_ID, run) == "success", client.task_states(DAG_ID, run)
            instances = client.task_instances(DAG_ID, run)
            if executor == "celery":
                # Three branches in three load batches (one per worker slot), on at least two workers.
                loads = [i["hostname"].split("@")[0] for i in instances if i["task_id"] == "load_exports"]
                timeline = "\n".join(f"{i['task_id']}[{i['map_index']}] {i['hostname']} {i['start_date']} "
                                     f"{i['end_date']}" for i in instances)
                assert len(loads) == 3 and len(set(loads)) >= 2, timeline
                # Every task of the night ran on a Celery worker, none in the scheduler.
                assert {i["hostname"].split("@")[0] for i in instances if i["state"] == "success"} <= {
                    "worker-1", "worker-2", "worker-3"}, timeline
            marts[executor] = _every_mart(conn)
        finally:
            _cakupan("airflow", "down")
        empty(conn)
        load_reference(conn, small_night, progress=lambda _: None)
    assert marts["celery"]["coverage_province"][0] == 38
    assert marts["celery"] == marts["local"]
