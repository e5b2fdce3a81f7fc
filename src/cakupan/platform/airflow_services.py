"""`cakupan airflow up|down`: Airflow 3 as its own services on this machine, the topology of docker compose
without Docker.

api-server (UI and REST API on 127.0.0.1), scheduler with the LocalExecutor, dag-processor and triggerer each
run as their own process group, with the project's `dags/` and `plugins/` (the Cakupan plugin), its metadata in
the `airflow` database of the embedded PostgreSQL (or wherever AIRFLOW__DATABASE__SQL_ALCHEMY_CONN points).
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
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cakupan.errors import UserError
from cakupan.platform.airflow_env import configure_airflow, migrate_metadata_database
from cakupan.settings import Settings

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
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


def _state_file(settings: Settings) -> Path:
    return settings.airflow_home / "services.json"


def _secrets(settings: Settings) -> dict[str, str]:
    path = settings.airflow_home / "service_secrets.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({key: secrets.token_urlsafe(32)
                                    for key in ("jwt_secret", "secret_key", "password")}))
        path.chmod(0o600)
    return json.loads(path.read_text())


def service_environment(settings: Settings) -> dict[str, str]:
    """What every service shares; variables already set in the environment win, as in `configure_airflow`."""
    shared = _secrets(settings)
    passwords_file = settings.airflow_home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({LOGIN: shared["password"]}))
    passwords_file.chmod(0o600)
    base_url = f"http://127.0.0.1:{settings.airflow_port}"
    wanted = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
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
        "AIRFLOW__CORE__PARALLELISM": str(max(2, os.cpu_count() or 2)),
        # Parse the DAG folder often enough that a changed DAG shows within a minute.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
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


def up(settings: Settings, progress=print) -> RunningStack:
    """Start the four services (unless they already run) and wait until every one is healthy."""
    configure_airflow(settings)
    migrate_metadata_database(settings)
    environment = {**os.environ, **service_environment(settings)}
    url = environment["AIRFLOW__API__BASE_URL"]
    password = _secrets(settings)["password"]
    state_file = _state_file(settings)
    if state_file.exists():
        pids = json.loads(state_file.read_text())["pids"]
        if all(_alive(pid) for pid in pids.values()):
            progress(f"Airflow is already running at {url}.")
            return RunningStack(url, LOGIN, password, pids)
        down(settings, progress=lambda _: None)
    if _health(url) is not None:
        raise AirflowServicesError(
            f"Something already answers at {url}: stop it, or choose another port with CAKUPAN_AIRFLOW_PORT.")
    log_dir = settings.airflow_home / "logs" / "services"
    log_dir.mkdir(parents=True, exist_ok=True)
    airflow_cli = str(Path(sys.executable).parent / "airflow")
    processes: dict[str, subprocess.Popen] = {}
    for service in SERVICES:
        arguments = [airflow_cli, service, *SERVICE_ARGUMENTS.get(service, ())]
        if service == "api-server":
            arguments += ["--host", "127.0.0.1", "--port", str(settings.airflow_port)]
        with (log_dir / f"{service}.log").open("ab") as log:
            process = subprocess.Popen(arguments, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, cwd=settings.airflow_home)
        processes[service] = process
    pids = {service: process.pid for service, process in processes.items()}
    state_file.write_text(json.dumps({"url": url, "pids": pids}))
    progress(f"Starting Airflow ({', '.join(SERVICES)}); logs in {log_dir} ...")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _healthy(health := _health(url)):
        dead = [service for service, process in processes.items() if process.poll() is not None]
        if dead or time.monotonic() > deadline:
            down(settings, progress=lambda _: None)
            reason = f"{', '.join(dead)} stopped" if dead else f"not healthy after {STARTUP_TIMEOUT_S} s ({health})"
            raise AirflowServicesError(f"Airflow did not start: {reason}. See the logs in {log_dir}.")
        time.sleep(2)
    return RunningStack(url, LOGIN, password, pids)


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
