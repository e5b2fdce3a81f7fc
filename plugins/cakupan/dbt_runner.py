"""Run dbt (a subprocess of this virtualenv's dbt) against the warehouse, streaming its log lines."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cakupan.settings import Settings
from cakupan.warehouse import warehouse_url


class DbtFailed(RuntimeError):
    pass


def dbt_env(settings: Settings) -> dict[str, str]:
    """The variables `dbt_project/profiles.yml` reads, taken from the warehouse URL."""
    url = urlsplit(warehouse_url(settings))
    return {
        "CAKUPAN_DB_HOST": url.hostname or "127.0.0.1",
        "CAKUPAN_DB_PORT": str(url.port or 5432),
        "CAKUPAN_DB_USER": unquote(url.username or ""),
        "CAKUPAN_DB_PASSWORD": unquote(url.password or ""),
        "CAKUPAN_DB_NAME": url.path.lstrip("/") or "postgres",
    }


def dbt_vars(settings: Settings, snapshot_date: dt.date) -> str:
    return json.dumps({"snapshot_date": snapshot_date.isoformat(), "vulnerable_target": settings.vulnerable_target})


def run_dbt(
    settings: Settings, command: list[str], snapshot_date: dt.date, log: Callable[[str], None] = print
) -> None:
    """`dbt <command>` for the given date; raises DbtFailed naming the failing nodes."""
    executable = Path(sys.executable).parent / "dbt"
    args = [
        str(executable), *command,
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target-path", str(settings.home / "dbt" / "target"),
        "--log-path", str(settings.home / "dbt" / "logs"),
        "--vars", dbt_vars(settings, snapshot_date),
    ]
    env = {**os.environ, **dbt_env(settings), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    failures: list[str] = []
    with subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=settings.dbt_project_dir
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            log(line)
            if " ERROR " in line or line.lstrip().startswith(("Failure in", "Error in", "Compilation Error", "Database Error")):
                failures.append(line.strip())
    if process.returncode != 0:
        detail = "\n".join(failures[-20:]) or "see the dbt log above"
        raise DbtFailed(f"dbt {' '.join(command)} failed for {snapshot_date}:\n{detail}")
