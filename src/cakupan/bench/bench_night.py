"""One whole night through the real stack, for `make bench`: end_to_end_s, dag_vs_critical_path and every
task's peak memory.

The night runs in a home of its own (`<CAKUPAN_HOME>/bench/night`: its own embedded PostgreSQL and Airflow
metadata), emptied first, so the user's warehouse is never touched and every measured night is a first,
full one. Airflow runs as its services (`cakupan airflow up`: scheduler, LocalExecutor with one task slot a
core), driven through the REST API as in production; each task records its own peak memory
(`airflow_support.record_task_usage`).

dag_vs_critical_path compares the DAG's wall time with the longest chain of its tasks' own run times, where
a mapped task (one load batch a core) counts as the least time its instances can take on the executor's
slots: the longest instance, or their sum over the slots if that is more. What is left is Airflow's own
cost: scheduling, task start-up, the gaps between tasks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import psycopg

from cakupan.bench.bench_site import site_figures
from cakupan.orchestration.airflow_support import run_file
from cakupan.orchestration.dag_run import DAG_ID, DOCS_DAG_ID
from cakupan.platform.airflow_client import AirflowClient
from cakupan.platform.local_ports import free_port

DEADLINE_DAG_ID = "cakupan_publication_deadline"

# What a night leaves behind, emptied before each measured night (as the setup role).
_RESET_SQL = """
    TRUNCATE raw.deliveries, raw.peserta, raw.peserta_changes, raw.iuran, audit.file_loads, audit.rejected_rows,
             audit.gate_results, audit.marts_candidate, audit.publications, audit.night_lease, audit.raw_gate_night,
             audit.withdrawals;
    DROP SCHEMA IF EXISTS staging, intermediate, marts, marts_candidate CASCADE;
"""
NIGHT_TIMEOUT_S = 3 * 3600


class BenchHome:
    """`cakupan` commands run in the bench's own home, with the bench's exports."""

    def __init__(self, home: Path, landing_root: Path, reference_root: Path, cache_dir: Path):
        self.home = home
        self.environment = {
            **os.environ, "CAKUPAN_HOME": str(home), "CAKUPAN_CACHE_DIR": str(cache_dir),
            "CAKUPAN_LANDING_ROOT": str(landing_root),
            "CAKUPAN_REFERENCE_ROOT": str(reference_root), "CAKUPAN_PII_KEY": "bench-key",
            "CAKUPAN_NIGHTLY_SCHEDULE": "none", "CAKUPAN_AIRFLOW_PORT": str(free_port()),
        }
        for inherited in ("AIRFLOW_HOME", "CAKUPAN_WAREHOUSE_URL", "CAKUPAN_ALERT_WEBHOOK_URL", "CAKUPAN_ALERT_EMAIL"):
            self.environment.pop(inherited, None)
        for key in [k for k in self.environment if k.startswith("AIRFLOW__")]:
            del self.environment[key]

    def cakupan(self, *arguments: str, timeout: float = 1800) -> str:
        result = subprocess.run([sys.executable, "-m", "cakupan.cli", *arguments], env=self.environment,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"cakupan {' '.join(arguments)} failed in {self.home}:\n{result.stderr[-3000:]}")
        return result.stdout

    def python(self, code: str, timeout: float = 3600) -> dict:
        """Run `code` in this home; its last line of output is a JSON object."""
        result = subprocess.run([sys.executable, "-c", code], env=self.environment, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"a measurement in {self.home} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def reset(self) -> None:
        url = self.cakupan("warehouse", "url", "--role", "setup", "--show-password").strip()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_RESET_SQL)

    def client(self) -> AirflowClient:
        secrets = json.loads((self.home / "airflow" / "service_secrets.json").read_text())
        return AirflowClient(f"http://127.0.0.1:{self.environment['CAKUPAN_AIRFLOW_PORT']}", "admin",
                             secrets["password"])


def _seconds(instance: dict) -> float:
    return float(instance.get("duration") or 0.0)


def _timestamp(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def critical_path(tasks: list[dict], instances: list[dict], slots: int) -> tuple[float, list[str]]:
    """(seconds, task ids) of the longest chain of own run times through the DAG (see the module doc)."""
    durations: dict[str, list[float]] = defaultdict(list)
    for instance in instances:
        if instance["state"] == "success":
            durations[instance["task_id"]].append(_seconds(instance))

    def weight(task_id: str) -> float:
        own = durations.get(task_id, [])
        return max(max(own, default=0.0), sum(own) / slots)

    downstream = {task["task_id"]: task["downstream_task_ids"] for task in tasks}
    longest: dict[str, tuple[float, list[str]]] = {}

    def from_task(task_id: str) -> tuple[float, list[str]]:
        if task_id not in longest:
            tail = max((from_task(child) for child in downstream[task_id]), default=(0.0, []))
            longest[task_id] = (weight(task_id) + tail[0], [task_id] + tail[1])
        return longest[task_id]

    return max(from_task(task_id) for task_id in downstream)


def _usage(home: Path, run_id: str) -> list[dict]:
    path = run_file(run_id, "usage", home)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _peaks(entries: list[dict]) -> dict[str, float]:
    """The highest peak of each task (over a mapped task's instances)."""
    peaks: dict[str, float] = {}
    for entry in entries:
        peaks[entry["task_id"]] = max(peaks.get(entry["task_id"], 0.0), entry["peak_rss_mib"])
    return peaks


# The raw gate's two sides (bench_gx) need the night's deliveries still awaiting the gate: the night passed
# it, so they are set back for the measurement and marked again after it.
_GX_VS_SQL = """
import datetime as dt, json, psycopg
from cakupan.bench.bench_gx import measure_raw_gate
from cakupan.settings import load_settings
from cakupan.platform.warehouse import warehouse_url
settings = load_settings()
with psycopg.connect(warehouse_url(settings, "setup"), autocommit=True) as conn:
    passed = conn.execute("UPDATE raw.deliveries SET raw_gate_passed_at = NULL WHERE export_date = %s "
                          "RETURNING delivery_id", (dt.date.fromisoformat("{date}"),)).fetchall()
try:
    result = measure_raw_gate(settings, repeats={repeats})
finally:
    with psycopg.connect(warehouse_url(settings, "setup"), autocommit=True) as conn:
        conn.execute("UPDATE raw.deliveries SET raw_gate_passed_at = now() WHERE delivery_id = ANY(%s)",
                     ([row[0] for row in passed],))
print(json.dumps(result))
"""

_DBT_VS_SQL = """
import datetime as dt, json
from cakupan.bench.bench_dbt import measure_dbt_build
from cakupan.settings import load_settings
print(json.dumps(measure_dbt_build(load_settings(), dt.date.fromisoformat("{date}"), repeats={repeats})))
"""

_INCREMENTAL_VS_FULL = """
import datetime as dt, json
from cakupan.bench.bench_incremental import measure_incremental_vs_full
from cakupan.settings import load_settings
print(json.dumps(measure_incremental_vs_full(load_settings(), dt.date.fromisoformat("{date}"), repeats={repeats})))
"""


def _night_and_docs(client: AirflowClient, snapshot_date: dt.date,
                    progress: Callable[[str], None]) -> tuple[str, str, float]:
    """Run the night of `snapshot_date` and the docs site it triggers: (night run, docs run, seconds)."""
    seen = client.asset_triggered_runs(DOCS_DAG_ID)
    started = time.monotonic()
    night = client.trigger(DAG_ID, snapshot_date)
    progress(f"  night: {DAG_ID} run {night} for {snapshot_date} ...")
    if client.wait_for_run(DAG_ID, night, timeout_s=NIGHT_TIMEOUT_S, poll_s=5) != "success":
        raise RuntimeError(f"the bench night failed: {client.task_states(DAG_ID, night)}")
    docs = client.wait_for_asset_triggered_run(DOCS_DAG_ID, timeout_s=300, seen=seen)
    if client.wait_for_run(DOCS_DAG_ID, docs, timeout_s=NIGHT_TIMEOUT_S, poll_s=5) != "success":
        raise RuntimeError(f"the bench docs site failed: {client.task_states(DOCS_DAG_ID, docs)}")
    return night, docs, time.monotonic() - started


def _start_airflow(bench: BenchHome) -> AirflowClient:
    """Airflow up with the nightly and docs DAGs ready to run (and down again if they never are)."""
    bench.cakupan("airflow", "up", timeout=300)
    try:
        client = bench.client()
        for dag_id in (DAG_ID, DOCS_DAG_ID):
            client.wait_for_dag(dag_id)
            client.fail_unfinished_runs(dag_id)
            client.unpause(dag_id)
        client.wait_for_dag(DEADLINE_DAG_ID)
        client.pause(DEADLINE_DAG_ID)  # its alert would only take a task slot from the measured night
    except BaseException:
        bench.cakupan("airflow", "down", timeout=120)
        raise
    return client


def _task_seconds(instances: list[dict]) -> dict[str, float]:
    """Seconds each task of a night ran, its mapped instances added up."""
    own: dict[str, float] = defaultdict(float)
    for instance in instances:
        own[instance["task_id"]] += _seconds(instance)
    return {task: round(seconds, 1) for task, seconds in own.items()}


def measure_night(settings, landing_root: Path, reference_root: Path, snapshot_date: dt.date,
                  progress: Callable[[str], None] = print, repeats: int = 3, next_night: bool = False) -> dict:
    """Empty the bench home's warehouse, run the night of `snapshot_date` and its docs site under Airflow's
    scheduler, and report what it took; then, on that night's data, gx_vs_sql and dbt_vs_sql (`repeats`
    interleaved repeats each). With `next_night` (its exports generated beside the first's), run the night
    after too, as the nightly runs it, and measure incremental_vs_full on it."""
    bench = BenchHome(settings.home / "bench" / "night", landing_root, reference_root, settings.cache_dir)
    progress(f"  night: warehouse and reference in {bench.home} ...")
    bench.cakupan("warehouse", "start")
    bench.reset()
    bench.cakupan("reference", "load")
    progress("  night: starting Airflow (scheduler, LocalExecutor) ...")
    client = _start_airflow(bench)
    try:
        night, docs, end_to_end = _night_and_docs(client, snapshot_date, progress)
        run = client.run(DAG_ID, night)
        instances = client.task_instances(DAG_ID, night)
        tasks = client.get(f"/dags/{DAG_ID}/tasks")["tasks"]
        slots = max(2, os.cpu_count() or 2)
        path_seconds, path = critical_path(tasks, instances, slots)
        wall = _timestamp(run["end_date"]) - _timestamp(run["start_date"])
        peaks = _peaks(_usage(bench.home, night) + _usage(bench.home, docs))
        loads = [_seconds(i) for i in instances if i["task_id"] == "load_exports" and i["state"] == "success"]
        own = _task_seconds(instances)
        docs_seconds = sum(_seconds(instance) for instance in client.task_instances(DOCS_DAG_ID, docs)
                           if instance["task_id"] == "build_docs")
        site = site_figures(bench.home / "docs", docs_seconds)
    finally:
        bench.cakupan("airflow", "down", timeout=120)
    progress(f"  raw gate: GX against one hand-written SQL pass, {repeats} repeats ...")
    gx = bench.python(_GX_VS_SQL.format(date=snapshot_date.isoformat(), repeats=repeats))
    progress(f"  dbt build (full refresh) against its own SQL through psql, {repeats} repeats ...")
    dbt = bench.python(_DBT_VS_SQL.format(date=snapshot_date.isoformat(), repeats=repeats))
    following = None
    if next_night:
        following_date = snapshot_date + dt.timedelta(days=1)
        client = _start_airflow(bench)
        try:
            following_night, _, following_seconds = _night_and_docs(client, following_date, progress)
            following_tasks = _task_seconds(client.task_instances(DAG_ID, following_night))
        finally:
            bench.cakupan("airflow", "down", timeout=120)
        progress(f"  the nightly dbt build of {following_date} against its full refresh, {repeats} repeats ...")
        following = {"end_to_end_s": round(following_seconds, 1), "task_seconds": following_tasks,
                     **bench.python(_INCREMENTAL_VS_FULL.format(date=following_date.isoformat(), repeats=repeats))}
    return {
        "gx": gx,
        "dbt": dbt,
        "next_night": following,
        "end_to_end_s": round(end_to_end, 1),
        "dag_wall_s": round(wall, 1),
        "critical_path_s": round(path_seconds, 1),
        "critical_path": path,
        "dag_vs_critical_path": round(wall / path_seconds, 3),
        "task_seconds": own,
        "load_tasks": len(loads),
        "load_task_seconds_max": round(max(loads, default=0.0), 1),
        "peak_rss_mib": peaks,
        "site": site,
    }
