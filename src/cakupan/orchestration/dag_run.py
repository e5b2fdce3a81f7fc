"""Run the nightly DAG once for a date through Airflow itself (`dag.test()`: the same DAG object and
task code the scheduler runs), then the docs site DAG the scheduler would start from the night's asset,
and report which task failed and why; what dates it refuses, and what to say when a night was cut short."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field

import pendulum

from cakupan.orchestration.airflow_support import WIB, common_dag_arguments
from cakupan.platform.airflow_env import configure_airflow, migrate_metadata_database
from cakupan.settings import Settings

DAG_ID = "cakupan_nightly"
DOCS_DAG_ID = "cakupan_docs_site"


@dataclass
class NightlyRun:
    snapshot_date: dt.date
    run_id: str
    state: str
    task_states: dict[str, str]
    failures: list[dict] = field(default_factory=list)
    task_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    def task_summary(self) -> str:
        """One line per task in run order: state and seconds (mapped instances summed)."""
        totals: dict[str, list] = {}
        for key, state in self.task_states.items():
            task = key.split("[")[0]
            entry = totals.setdefault(task, [0, 0.0, set()])
            entry[0] += 1
            entry[1] += self.task_seconds.get(key, 0.0)
            entry[2].add(state)
        lines = [f"Nightly run for {self.snapshot_date}: {self.state} in {self.wall_seconds:.0f}s"]
        for task, (count, seconds, states) in totals.items():
            label = f"{task} x{count}" if count > 1 or task == "load_exports" else task
            lines.append(f"  {label:<22} {'/'.join(sorted(states)):<10} {seconds:6.1f}s")
        return "\n".join(lines)

    def failure_summary(self) -> str:
        if self.failures:
            return "\n".join(
                f"task {f['task_id']}{'' if f.get('map_index', -1) in (-1, None) else '[' + str(f['map_index']) + ']'} "
                f"failed: {f['error_type']}: {f['error']}"
                for f in self.failures
            )
        failed = [t for t, s in self.task_states.items() if s not in ("success", "skipped")]
        return f"tasks not successful: {', '.join(failed) or 'none'} (see Airflow's log of the night)"


def load_dags() -> dict:
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
    if bag.import_errors:
        raise RuntimeError(f"The DAG files do not import: {bag.import_errors}")
    return bag.dags


def logical_date_for(snapshot_date: dt.date) -> pendulum.DateTime:
    """The scheduled 01:00 WIB run that follows business day D."""
    return pendulum.datetime(snapshot_date.year, snapshot_date.month, snapshot_date.day, 1,
                             tz="Asia/Jakarta").add(days=1)


def first_runnable_date() -> dt.date:
    """The first business date whose night Airflow runs: a run whose logical date is before the DAG's
    start_date is skipped (reported as a success with no task run)."""
    start = pendulum.instance(common_dag_arguments()["start_date"])
    day = start.in_timezone(WIB).date() - dt.timedelta(days=1)
    while logical_date_for(day) < start:
        day += dt.timedelta(days=1)
    return day


def last_runnable_date(now: dt.datetime | None = None) -> dt.date:
    """Tomorrow in WIB: a night for a date more than one day after today is refused (branch-export-v1 §7.6)."""
    today = pendulum.instance(now or dt.datetime.now(dt.UTC)).in_timezone(WIB).date()
    return today + dt.timedelta(days=1)


def refusal(snapshot_date: dt.date, option: str = "--date", now: dt.datetime | None = None) -> str | None:
    """Why a night for `snapshot_date` must not run (one line that says which dates may), or None."""
    first, last = first_runnable_date(), last_runnable_date(now)
    if snapshot_date < first:
        return (f"{option} {snapshot_date} is before {first}, the first night of {DAG_ID} (its start_date): "
                f"Airflow would skip the run and publish nothing. Give a date from {first} on.")
    if snapshot_date > last:
        return (f"{option} {snapshot_date} is more than one day after today ({last - dt.timedelta(days=1)} in "
                f"{WIB}): no branch can have exported it yet (branch-export-v1 §7.6). Give a date up to {last}.")
    return None


def run_nightly(settings: Settings, snapshot_date: dt.date, *, docs: bool = True) -> NightlyRun:
    """The night of `snapshot_date`, then (`docs`) its docs site: a backfill builds the site once, at its end."""
    configure_airflow(settings)
    migrate_metadata_database(settings)
    from cakupan.orchestration.airflow_support import failures_file
    from cakupan.publish.night_lease import IN_PROCESS_VARIABLE

    dags = load_dags()
    logical_date = logical_date_for(snapshot_date)
    conf = {"snapshot_date": snapshot_date.isoformat()}
    started = time.time()
    os.environ[IN_PROCESS_VARIABLE] = "1"  # dag.test() runs every task in this process
    try:
        night = dags[DAG_ID].test(logical_date=logical_date, run_conf=conf)
    finally:
        os.environ.pop(IN_PROCESS_VARIABLE, None)  # a scheduler started later from this process must not inherit it
    runs = [night] + ([dags[DOCS_DAG_ID].test(logical_date=logical_date, run_conf=conf)] if docs else [])
    states: dict[str, str] = {}
    seconds: dict[str, float] = {}
    failures: list[dict] = []
    for dag_run in runs:
        instances = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date or 0))
        for ti in instances:
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
            seconds[key] = float(ti.duration or 0.0)
        path = failures_file(dag_run.run_id)
        recorded = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        failures += [entry for entry in recorded if entry["at"] >= started]
    state = next((_state(run) for run in runs if _state(run) != "success"), "success")
    return NightlyRun(snapshot_date, night.run_id, state, states, failures, seconds, time.time() - started)


def _state(dag_run) -> str:
    return str(getattr(dag_run.state, "value", dag_run.state))


def warehouse_answers(settings: Settings) -> bool:
    import psycopg

    from cakupan.platform.warehouse import WarehouseError, warehouse_url

    try:
        with psycopg.connect(warehouse_url(settings, "admin"), connect_timeout=5):
            return True
    except (psycopg.OperationalError, WarehouseError):
        return False


def where_it_stopped(settings: Settings, since: float) -> str:
    """`task X` when a task recorded its failure since `since`, else `after task X` (the last that succeeded)."""
    runs = settings.home / "runs"
    latest: dict[str, tuple[float, str]] = {}
    for kind in ("failures", "usage"):
        for path in runs.glob(f"*.{kind}.jsonl") if runs.is_dir() else ():
            if path.stat().st_mtime < since:
                continue
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                if entry["at"] >= since and entry["at"] >= latest.get(kind, (0.0, ""))[0]:
                    latest[kind] = (entry["at"], entry["task_id"])
    if "failures" in latest:
        return f"task {latest['failures'][1]}"
    if "usage" in latest:
        return f"the task after {latest['usage'][1]}"
    return "its first task"


def cut_short(settings: Settings, snapshot_date: dt.date, since: float, error: BaseException | None,
              log_path=None) -> str | None:
    """One line for a night that did not finish because the warehouse or Airflow went away (`error`: what ended
    the run, if it did not end on its own): what happened, and what to do. None for a night that ended on its
    own with the warehouse still answering: its failed tasks say why."""
    warehouse_down = not warehouse_answers(settings)
    if error is None and not warehouse_down:
        return None
    again = f"run `cakupan run --date {snapshot_date}` again: a night re-run gives the same result"
    where = where_it_stopped(settings, since)
    log = f" (Airflow's log of the night: {log_path})" if log_path else ""
    if warehouse_down:
        start = "start it with `cakupan warehouse start`" if settings.embedded else \
            "check the server at CAKUPAN_WAREHOUSE_URL"
        return (f"the warehouse stopped answering during {where} of the night of {snapshot_date}; "
                f"{start} and {again}{log}.")
    cause = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return f"Airflow stopped during {where} of the night of {snapshot_date} ({cause}); {again}{log}."
