"""Small pieces the DAG needs from Airflow's task context, kept out of the DAG file so it parses fast."""

from __future__ import annotations

import datetime as dt
import json
import resource
import time
import traceback

import pendulum

from cakupan.settings import load_settings

WIB = "Asia/Jakarta"

# Errors that only mean the warehouse was out of reach, by name: the nightly DAG's retry rule names them (its
# file may not import psycopg, to parse fast) and cakupan.transform.nightly resolves them to classes.
TRANSIENT_ERROR_NAMES = ("psycopg.OperationalError", "builtins.ConnectionError", "builtins.TimeoutError")


def common_dag_arguments() -> dict:
    """What every Cakupan DAG shares: WIB dates, no catch-up (a backfill is explicit), one run at a time (nights
    build on each other), and a `snapshot_date` param to run a chosen business date.

    Airflow skips a run whose logical date is before start_date, so this is also the first business date
    `cakupan run` and `backfill` accept: the night of 2000-01-01, the earliest export date the contract finds
    plausible (branch-export-v1 §7.6), runs at 01:00 WIB the next day. With catchup off, an early start_date
    makes the scheduler create no past runs; it only lets backfills of real past years run."""
    return {
        "start_date": pendulum.datetime(2000, 1, 2, tz=WIB),
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["cakupan", "bpjs-ketenagakerjaan"],
        "params": {"snapshot_date": None},
    }


def snapshot_date_of(context) -> dt.date:
    """The business date D of a run: `snapshot_date` from the run's params/conf, else the day before
    the run's logical date in WIB (the 01:00 run covers the previous day's exports)."""
    chosen = (context.get("params") or {}).get("snapshot_date")
    if chosen:
        return dt.date.fromisoformat(str(chosen))
    logical = context["logical_date"] or context["dag_run"].run_after
    return pendulum.instance(logical).in_timezone(WIB).date() - dt.timedelta(days=1)


def run_file(run_id: str, kind: str, home=None):
    """`<home>/runs/<run id>.<kind>.jsonl`: what the tasks of one run kept (`failures`, `usage`)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return (home or load_settings().home) / "runs" / f"{safe}.{kind}.jsonl"


def failures_file(run_id: str):
    return run_file(run_id, "failures")


def usage_file(run_id: str):
    return run_file(run_id, "usage")


def record_task_usage(context) -> None:
    """on_success_callback: the task process's peak memory and CPU time, one JSON line per task run, so that
    `make bench` (and anyone sizing a machine) can see what each task needs. Meaningful when each task has
    its own process, as under a scheduler; `dag.test()` runs every task in one."""
    ti = context["ti"]
    # dbt runs as a child process: its memory and CPU count as the task's.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    path = usage_file(context["run_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"at": time.time(), "task_id": ti.task_id, "map_index": getattr(ti, "map_index", -1),
             "peak_rss_mib": round(max(own.ru_maxrss, children.ru_maxrss) / 1024, 1),
             "cpu_s": round(sum(u.ru_utime + u.ru_stime for u in (own, children)), 2)}
    with path.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def record_task_failure(context) -> None:
    """Keep why a task failed, so `cakupan run` can say it without digging through logs."""
    error = context.get("exception")
    ti = context["ti"]
    path = failures_file(context["run_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "at": time.time(),
        "task_id": ti.task_id,
        "map_index": getattr(ti, "map_index", -1),
        "error_type": type(error).__name__ if error else None,
        "error": str(error) if error else "unknown error (see the task log)",
        "traceback": "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else None,
    }
    with path.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")
