"""The Celery broker of `cakupan airflow up --executor celery`: a Redis server of this machine's own package
(Debian's `redis-server`; `deploy/install-redis.sh`), on 127.0.0.1 with a password, its state under AIRFLOW_HOME.

It carries only the queue of task messages between the scheduler and the workers: the task states live in
Airflow's metadata database and Celery's results in the same database (the result backend), so the broker
keeps nothing on disk. A production deployment runs the same Redis (or Valkey) as a service of its own:
docker-compose.yml's `redis` under the `celery` profile, or a managed one, reached by
AIRFLOW__CELERY__BROKER_URL (docs/scaling.md).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from cakupan.errors import UserError
from cakupan.platform.local_ports import free_port, port_is_free
from cakupan.settings import Settings

STARTUP_TIMEOUT_S = 30


class BrokerError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class Broker:
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"


def _state_dir(settings: Settings) -> Path:
    return settings.airflow_home / "broker"


def broker(settings: Settings, password: str) -> Broker:
    """The broker's address: the port it was given the first time, while it stays free or ours."""
    port_file = _state_dir(settings) / "port"
    if port_file.exists():
        return Broker(int(port_file.read_text()), password)
    port_file.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    port_file.write_text(str(port))
    return Broker(port, password)


def start(settings: Settings, password: str, log_file: Path) -> subprocess.Popen:
    """Start the Redis server in a process group of its own and wait until it answers."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise BrokerError("The CeleryExecutor needs a Redis server for its broker, and redis-server is not "
                          "installed: run `deploy/install-redis.sh` (as root; Debian's redis-server package).")
    target = broker(settings, password)
    if not port_is_free(target.port):
        raise BrokerError(f"Port {target.port} of the Celery broker is taken: stop what listens there, or delete "
                          f"{_state_dir(settings) / 'port'} to pick another.")
    state = _state_dir(settings)
    # The password goes to the server on its standard input (a config file read from "-"), not its command line.
    config = "\n".join([
        f"port {target.port}", "bind 127.0.0.1", "protected-mode yes", f"dir {state}",
        # Nothing kept on disk: task states are in Airflow's database; a lost queue is queued again by the scheduler.
        'save ""', "appendonly no", "daemonize no", f'requirepass "{password}"',
    ])
    with log_file.open("ab") as log:
        process = subprocess.Popen([executable, "-"], stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=state)
    assert process.stdin is not None
    process.stdin.write(config.encode())
    process.stdin.close()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not answers(target):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise BrokerError(f"The Celery broker (redis-server) did not start: see {log_file}.")
        time.sleep(0.2)
    return process


def answers(target: Broker) -> bool:
    """The server accepts the password and answers PING."""
    try:
        return redis.Redis(host="127.0.0.1", port=target.port, password=target.password, socket_timeout=2,
                           socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
