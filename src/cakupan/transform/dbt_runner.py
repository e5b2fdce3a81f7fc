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

from cakupan.platform.warehouse import warehouse_url
from cakupan.settings import Settings


class DbtFailed(RuntimeError):
    pass


# Lines that open the explanation of a failure in dbt's console log.
_ERROR_STARTS = ("Failure in", "Error in", "Compilation Error", "Database Error", "Runtime Error",
                 "Encountered an error", "Unit Test", "Parsing Error")


def _strip_log_prefix(line: str) -> str:
    """dbt prefixes console lines with colour codes and a timestamp: '\x1b[0m14:53:19  text'."""
    text = line.split("\x1b[0m")[-1]
    head, _, rest = text.partition("  ")
    return rest.strip() if head.count(":") == 2 and len(head) <= 8 else text.strip()


def dbt_env(settings: Settings) -> dict[str, str]:
    """The variables `dbt_project/profiles.yml` reads, taken from the warehouse URL and the settings, and the
    options of dbt's sessions (PGOPTIONS, read by libpq)."""
    url = urlsplit(warehouse_url(settings, "transformer"))
    return {
        "CAKUPAN_DB_HOST": url.hostname or "127.0.0.1",
        "CAKUPAN_DB_PORT": str(url.port or 5432),
        "CAKUPAN_DB_USER": unquote(url.username or ""),
        "CAKUPAN_DB_PASSWORD": unquote(url.password or ""),
        "CAKUPAN_DB_NAME": url.path.lstrip("/") or "postgres",
        "CAKUPAN_DBT_THREADS": str(settings.dbt_threads),
        "PGOPTIONS": _session_options(settings),
    }


def _session_options(settings: Settings) -> str:
    """dbt already runs a query a thread side by side; PostgreSQL's parallel workers on top of those only
    oversubscribe the cores: both builds were faster without them (docs/decisions.md, change 13). A warehouse
    with cores to spare beyond dbt's threads can allow some (CAKUPAN_DBT_PARALLEL_WORKERS)."""
    own = f"-c max_parallel_workers_per_gather={settings.dbt_parallel_workers}"
    return f"{os.environ['PGOPTIONS']} {own}" if os.environ.get("PGOPTIONS") else own


def dbt_vars(settings: Settings, extra: dict | None = None) -> str:
    """The same every night: the date goes by environment (dbt_project/macros/run_parameters.sql)."""
    return json.dumps({"vulnerable_target": settings.vulnerable_target,
                       "branch_late_warn_days": settings.branch_late_warn_days,
                       "branch_late_error_days": settings.branch_late_error_days, **(extra or {})})


def run_dbt(
    settings: Settings, command: list[str], snapshot_date: dt.date, log: Callable[[str], None] = print,
    extra_vars: dict | None = None, warnings: list[str] | None = None, file_log_level: str | None = None,
    target_path: Path | None = None,
) -> str:
    """`dbt <command>` for the given date; returns dbt's closing summary line, raises DbtFailed naming the
    failing nodes. Tests that only warned are appended to `warnings` when given.

    dbt's log file (<home>/dbt/logs/dbt.log) gets what the console gets, at `info`, unless the settings or
    `file_log_level` say `debug`: then every statement dbt sends too. Writing those costs dbt's threads, which
    share one Python interpreter, CPU the nightly build needs (docs/decisions.md, change 19); the statements
    that fail are in the console's error text anyway, and each node's SQL in
    <home>/dbt/target/run. A `target_path` of its own keeps a command beside the night (the what-if) from
    writing over the night's manifest and compiled SQL."""
    executable = Path(sys.executable).parent / "dbt"
    args = [
        str(executable), *command, "--no-use-colors",
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target-path", str(target_path or settings.home / "dbt" / "target"),
        "--log-path", str(settings.home / "dbt" / "logs"),
        "--vars", dbt_vars(settings, extra_vars),
        "--log-level-file", file_log_level or settings.dbt_file_log_level,
    ]
    env = {**os.environ, **dbt_env(settings), "CAKUPAN_SNAPSHOT_DATE": snapshot_date.isoformat(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    failures: list[str] = []
    summary = ""
    in_error = False
    with subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=settings.dbt_project_dir
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            log(line)
            text = _strip_log_prefix(line)
            if text.startswith("Done. PASS="):
                summary = text
            if warnings is not None and text.startswith("Warning in "):
                warnings.append(text.removeprefix("Warning in "))
            if text.startswith(_ERROR_STARTS) or " ERROR " in line:
                in_error = True
            elif not text or text.startswith("Done."):
                in_error = False
            if in_error and text:
                failures.append(text)
    if process.returncode != 0:
        detail = "\n".join(failures[-40:]) or "see the dbt log above"
        raise DbtFailed(f"dbt {' '.join(command)} failed for {snapshot_date}:\n{detail}")
    return summary
