"""`cakupan airflow up|down`: Airflow 3 as its own services on this machine, the topology of docker compose
without Docker.

api-server (UI and REST API on 127.0.0.1), scheduler, dag-processor and triggerer each run as their own process
group, with the project's `dags/` and `plugins/` (the Cakupan plugin), its metadata in the `airflow` database of
the embedded PostgreSQL (or wherever AIRFLOW__DATABASE__SQL_ALCHEMY_CONN points). The scheduler runs the tasks
itself (LocalExecutor), or, with `--executor celery --workers N`, sends them through a Redis broker
(celery_broker.py) to N Celery workers, each a process group of its own: the topology of docker compose's
`celery` profile, on one machine.
Everything else comes from the environment (`AIRFLOW_CONN_*`, `AIRFLOW__*`, `CAKUPAN_*`), read when the
services start.
Secrets the services must share (JWT, API secret key, the UI login) are generated once and kept, readable by
the owner only, under AIRFLOW_HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cakupan.errors import UserError
from cakupan.platform import celery_broker
from cakupan.platform.airflow_env import configure_airflow, migrate_metadata_database
from cakupan.platform.warehouse import airflow_metadata_url
from cakupan.settings import Settings

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
# The CeleryExecutor's settings, the same in docker-compose.yml's `celery` profile (tests/test_deployment_files.py
# checks them there).
CELERY_SETTINGS = {
    # One task at a time a worker: a load keeps a core busy (judge and COPY), so capacity is added by workers.
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
    # A worker takes a message only when it can start it, so the night's load batches go to idle workers rather
    # than wait behind a busy one.
    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
    # Each task instance reports the worker that ran it (CAKUPAN_WORKER_NAME, else the machine's name).
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cakupan.orchestration.worker_hostname.hostname",
}
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
# The scheduler and the triggerer would each start a log server for the api-server to fetch task logs from,
# on every interface (Airflow 3.3 binds it to host "" with no setting to change that: airflow/utils/serve_logs/
# core.py) at ports 8793 and 8794. Here every service shares one machine and one log folder, and the api-server
# reads the task logs from that folder itself, so the log servers are not started at all.
SERVICE_ARGUMENTS = {"scheduler": ("--skip-serve-logs",), "triggerer": ("--skip-serve-logs",)}
LOGIN = "admin"
STARTUP_TIMEOUT_S = 240


class AirflowServicesError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class RunningStack:
    url: str
    username: str
    password: str
    pids: dict[str, int]
    executor: str = "local"
    workers: int = 0


def _state_file(settings: Settings) -> Path:
    return settings.airflow_home / "services.json"


def _secrets(settings: Settings) -> dict[str, str]:
    path = settings.airflow_home / "service_secrets.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    wanted = {key: kept.get(key) or secrets.token_urlsafe(32)
              for key in ("jwt_secret", "secret_key", "password", "broker_password")}
    if wanted != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(wanted))
        path.chmod(0o600)
    return wanted


def service_environment(settings: Settings, executor: str = "local", workers: int = 0) -> dict[str, str]:
    """What every service shares; variables already set in the environment win, as in `configure_airflow`."""
    shared = _secrets(settings)
    passwords_file = settings.airflow_home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({LOGIN: shared["password"]}))
    passwords_file.chmod(0o600)
    base_url = f"http://127.0.0.1:{settings.airflow_port}"
    slots = workers * int(CELERY_SETTINGS["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) if executor == "celery" else 0
    wanted = {
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[executor],
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{LOGIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__SECRET_KEY": shared["secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": shared["jwt_secret"],
        # New DAGs start unpaused: the nightly schedule is the point of running a scheduler.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # One task a core: a load already keeps its cores busy (judge and COPY), and Airflow's default of 32
        # task processes would only queue for the CPU, each holding its own interpreter's memory.
        "AIRFLOW__CORE__PARALLELISM": str(max(2, os.cpu_count() or 2, slots)),
        # Parse the DAG folder often enough that a changed DAG shows within a minute.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }
    if executor == "celery":
        wanted |= CELERY_SETTINGS | {
            "AIRFLOW__CELERY__BROKER_URL": celery_broker.broker(settings, shared["broker_password"]).url,
            # Celery's task results in Airflow's own database, as docker-compose.yml does.
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + airflow_metadata_url(settings),
            # A night's deliveries in one load task per worker slot of the cluster, not per core of the worker
            # that finds them.
            "CAKUPAN_LOAD_BATCHES": str(slots),
        }
    return {key: os.environ.get(key, value) for key, value in wanted.items()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


def _healthy(health: dict | None) -> bool:
    """The API answers and the scheduler, dag-processor and triggerer have sent a heartbeat."""
    if not health:
        return False
    return all((health.get(part) or {}).get("status") == "healthy"
               for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"))


def up(settings: Settings, executor: str = "local", workers: int = 0, progress=print) -> RunningStack:
    """Start the services (unless they already run) and wait until every one is healthy: with the CeleryExecutor
    also the broker and `workers` Celery workers, each answering."""
    if executor == "celery" and workers < 1:
        raise AirflowServicesError("The CeleryExecutor needs workers: `cakupan airflow up --executor celery "
                                   "--workers N` with N >= 1.")
    workers = workers if executor == "celery" else 0
    configure_airflow(settings)
    migrate_metadata_database(settings)
    environment = {**os.environ, **service_environment(settings, executor, workers)}
    url = environment["AIRFLOW__API__BASE_URL"]
    shared = _secrets(settings)
    state_file = _state_file(settings)
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if all(_alive(pid) for pid in state["pids"].values()):
            running = (state.get("executor", "local"), state.get("workers", 0))
            if running != (executor, workers):
                raise AirflowServicesError(
                    f"Airflow already runs here with the {EXECUTORS[running[0]]}"
                    f"{f' and {running[1]} workers' if running[1] else ''}: `cakupan airflow down` first.")
            progress(f"Airflow is already running at {url}.")
            return RunningStack(url, LOGIN, shared["password"], state["pids"], executor, workers)
        down(settings, progress=lambda _: None)
    if _health(url) is not None:
        raise AirflowServicesError(
            f"Something already answers at {url}: stop it, or choose another port with CAKUPAN_AIRFLOW_PORT.")
    log_dir = settings.airflow_home / "logs" / "services"
    log_dir.mkdir(parents=True, exist_ok=True)
    airflow_cli = str(Path(sys.executable).parent / "airflow")
    processes: dict[str, subprocess.Popen] = {}
    if executor == "celery" and (environment["AIRFLOW__CELERY__BROKER_URL"]
                                 == celery_broker.broker(settings, shared["broker_password"]).url):
        # Unless AIRFLOW__CELERY__BROKER_URL names a broker of its own: then that one is used as it is.
        processes["broker"] = celery_broker.start(settings, shared["broker_password"], log_dir / "broker.log")
    commands = {service: [airflow_cli, service, *SERVICE_ARGUMENTS.get(service, ())] for service in SERVICES}
    commands["api-server"] += ["--host", "127.0.0.1", "--port", str(settings.airflow_port)]
    for number in range(1, workers + 1):
        commands[f"worker-{number}"] = [airflow_cli, "celery", "worker", "--skip-serve-logs",
                                        "--celery-hostname", f"worker-{number}@%h"]
    for service, arguments in commands.items():
        service_env = environment
        if service.startswith("worker-"):
            service_env = {**environment, "CAKUPAN_WORKER_NAME": f"{service}@{socket.gethostname()}"}
        with (log_dir / f"{service}.log").open("ab") as log:
            process = subprocess.Popen(arguments, env=service_env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, cwd=settings.airflow_home)
        processes[service] = process
    pids = {service: process.pid for service, process in processes.items()}
    state_file.write_text(json.dumps({"url": url, "pids": pids, "executor": executor, "workers": workers}))
    progress(f"Starting Airflow ({', '.join(processes)}); logs in {log_dir} ...")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not (_healthy(health := _health(url))
               and (not workers or len(answering := _workers_answering(environment)) >= workers)):
        dead = [service for service, process in processes.items() if process.poll() is not None]
        if dead or time.monotonic() > deadline:
            down(settings, progress=lambda _: None)
            if dead:
                reason = f"{', '.join(dead)} stopped"
            elif not _healthy(health):
                reason = f"not healthy after {STARTUP_TIMEOUT_S} s ({health})"
            else:
                reason = f"{len(answering)} of {workers} Celery workers answered after {STARTUP_TIMEOUT_S} s"
            raise AirflowServicesError(f"Airflow did not start: {reason}. See the logs in {log_dir}.")
        time.sleep(2)
    return RunningStack(url, LOGIN, shared["password"], pids, executor, workers)


def celery_inspect(environment: dict[str, str], command: str) -> dict | None:
    """Each answering Celery worker's reply to Celery's own `inspect <command>` (ping, active, ...) through the
    broker of `environment` (service_environment); None when no reply could be read (no broker, no worker)."""
    celery_cli = str(Path(sys.executable).parent / "celery")
    result = subprocess.run([celery_cli, "--app", CELERY_APP, "inspect", command, "--timeout", "2", "--json"],
                            env=environment, capture_output=True, text=True, timeout=60)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None
    except (json.JSONDecodeError, IndexError):
        return None


def _workers_answering(environment: dict[str, str]) -> list[str]:
    """The Celery workers that answer a ping through the broker."""
    replies = celery_inspect(environment, "ping") or {}
    return sorted(name for name, reply in replies.items() if reply.get("ok") == "pong")


def down(settings: Settings, progress=print, timeout_s: float = 30) -> bool:
    """Stop every service started by `up` (their whole process groups: task processes included)."""
    state_file = _state_file(settings)
    if not state_file.exists():
        progress("Airflow is not running (started by `cakupan airflow up`).")
        return False
    pids = json.loads(state_file.read_text())["pids"]
    for pid in pids.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in pids.values():
        _signal_group(pid, signal.SIGKILL)
    state_file.unlink()
    progress("Airflow stopped.")
    return True


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
