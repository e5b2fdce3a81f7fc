"""The night lease: one night at a time, whoever starts it (contract branch-export-v1 section 7.7).

Nights build on each other: each copies the published marts into the candidate schema, builds its date there
and publishes the candidate's rows. Two nights at once would drop each other's candidate, and one would publish the
other's half-built copy, losing dates. Airflow's `max_active_runs` only orders the scheduler's own runs;
`cakupan run` and `cakupan backfill` run the DAG in-process (`dag.test()`), beside them. And a PostgreSQL
advisory lock cannot span the night's tasks, each of which is a process of its own under a scheduler.

So the night holds a row in `audit.night_lease`: taken by its first task (find_exports, which waits while
another night holds it), confirmed by every task that writes, released by night_checked when every task of
the night has ended. While one of its tasks runs, a thread refreshes the row's heartbeat. A row silent for
longer than STALE_AFTER belongs to a night that was killed (or a machine that rebooted), and so does one held by
a `cakupan run` on this machine whose process has ended: the next night takes it over, and if that night was only
stalled, its next task finds the lease gone and fails, and it never publishes (publication.publish confirms the
lease in the publication's own transaction).

The CLI asks `current(conn)` who holds the lease, to refuse at once instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import structlog

from cakupan.platform import db
from cakupan.settings import Settings

# Under Airflow's task-operator namespace, as cakupan.transform.nightly logs: `cakupan run` shows these lines.
log = structlog.get_logger("airflow.task.operators.cakupan.night_lease")

# A night's tasks refresh the heartbeat this often while they run...
HEARTBEAT_EVERY = dt.timedelta(seconds=30)
# ...so a lease silent this long is abandoned. Well above the gap between two tasks of a night, a task's retry
# delay included (the DAG's default_args), so that only a night that stopped loses its lease.
STALE_AFTER = dt.timedelta(minutes=10)
# How long a night waits for another before it fails, and how often it says whom it waits for.
WAIT_AT_MOST = dt.timedelta(hours=2)
REPORT_WAITING_EVERY = dt.timedelta(seconds=30)
_POLL_EVERY = dt.timedelta(seconds=2)

# The task that takes the lease, and the XCom in which it hands the lease's id to the night's later tasks.
TAKING_TASK = "find_exports"
XCOM_KEY = "night_lease"


class NightLeaseBusy(RuntimeError):
    """Another night held the lease for longer than this one would wait."""


class NightLeaseLost(RuntimeError):
    """This night's lease was taken over (it fell silent) or released: it must stop before writing more."""


@dataclass(frozen=True)
class Lease:
    lease_id: str
    run_id: str
    snapshot_date: dt.date
    holder: str
    taken_at: dt.datetime
    heartbeat_at: dt.datetime
    silent_for: dt.timedelta  # since the last heartbeat, by the warehouse's clock

    @property
    def abandoned(self) -> bool:
        return self.silent_for > STALE_AFTER or _in_process_holder_is_gone(self.holder)

    def describe(self) -> str:
        return (f"run {self.run_id} for {self.snapshot_date} ({self.holder}, last heartbeat "
                f"{self.silent_for.total_seconds():.0f} s ago)")


_COLUMNS = "lease_id::text, run_id, snapshot_date, holder, taken_at, heartbeat_at, now() - heartbeat_at"


def current(conn: psycopg.Connection) -> Lease | None:
    """Who holds the night lease, abandoned or not (`Lease.abandoned`); None when no night runs."""
    if conn.execute("SELECT to_regclass('audit.night_lease')").fetchone()[0] is None:
        return None  # a warehouse from before the lease: no night of this version runs on it
    row = conn.execute(f"SELECT {_COLUMNS} FROM audit.night_lease").fetchone()
    return Lease(*row) if row else None


def try_take(conn: psycopg.Connection, *, run_id: str, snapshot_date: dt.date,
             holder: str) -> tuple[Lease | None, Lease | None]:
    """Take the lease if it is free or abandoned: (the lease taken or None, whoever held it before or holds it)."""
    with conn.transaction():
        before = conn.execute(f"SELECT {_COLUMNS} FROM audit.night_lease FOR UPDATE").fetchone()
        before = Lease(*before) if before else None
        if before and not before.abandoned:
            return None, before
        values = {"lease_id": str(uuid.uuid4()), "run_id": run_id, "snapshot_date": snapshot_date, "holder": holder}
        taken = conn.execute(
            f"""INSERT INTO audit.night_lease (lease_id, run_id, snapshot_date, holder)
                VALUES (%(lease_id)s, %(run_id)s, %(snapshot_date)s, %(holder)s)
                ON CONFLICT (only_row) DO UPDATE SET lease_id = excluded.lease_id, run_id = excluded.run_id,
                    snapshot_date = excluded.snapshot_date, holder = excluded.holder, taken_at = now(),
                    heartbeat_at = now()
                -- a night that took the free lease meanwhile keeps it
                WHERE audit.night_lease.lease_id = %(replaced)s
                RETURNING {_COLUMNS}""",
            {**values, "replaced": before.lease_id if before else None},
        ).fetchone()
    if taken is None:
        return None, current(conn)
    return Lease(*taken), before


def take(conn: psycopg.Connection, *, run_id: str, snapshot_date: dt.date, holder: str,
         wait_at_most: dt.timedelta = WAIT_AT_MOST, sleep: Callable[[float], None] = time.sleep) -> Lease:
    """The lease, once no other night holds it: waits up to `wait_at_most`, saying whom it waits for."""
    started = time.monotonic()
    reported_at: float | None = None
    while True:
        lease, other = try_take(conn, run_id=run_id, snapshot_date=snapshot_date, holder=holder)
        if lease:
            if other:
                log.warning("Took over the night lease of %s: silent for longer than %d min, that night is taken "
                            "as abandoned. If it still runs, its next task fails and it publishes nothing.",
                            other.describe(), STALE_AFTER.total_seconds() // 60)
            log.info("Night lease taken by run %s for %s.", run_id, snapshot_date)
            return lease
        waited = time.monotonic() - started
        if waited >= wait_at_most.total_seconds():
            raise NightLeaseBusy(
                f"Another night is running: {other.describe() if other else 'another run'}. This run for "
                f"{snapshot_date} waited {_span(waited)} for it and stops without writing anything; "
                "run it again once that night has ended (docs/runbook.md, 'Two nights at once').")
        if reported_at is None or time.monotonic() - reported_at >= REPORT_WAITING_EVERY.total_seconds():
            log.warning("Waiting for another night to end: %s holds the night lease. This run for %s has waited "
                        "%s (at most %s).", other.describe() if other else "another run",
                        snapshot_date, _span(waited), _span(wait_at_most.total_seconds()))
            reported_at = time.monotonic()
        sleep(_POLL_EVERY.total_seconds())


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def beat(conn: psycopg.Connection, lease_id: str) -> None:
    """Refresh the heartbeat, or raise NightLeaseLost. Inside a transaction, the row stays locked until it ends:
    no other night can take the lease over meanwhile."""
    refreshed = conn.execute("UPDATE audit.night_lease SET heartbeat_at = now() WHERE lease_id = %s",
                             (lease_id,)).rowcount
    if not refreshed:
        holder = current(conn)
        raise NightLeaseLost(
            "This night no longer holds the night lease "
            f"({'now held by ' + holder.describe() if holder else 'released'}"
            "): it stopped for longer than the lease waits, so it is taken as abandoned and publishes nothing.")


def release(conn: psycopg.Connection, lease_id: str) -> bool:
    """Give the lease back, if it is still this night's."""
    return bool(conn.execute("DELETE FROM audit.night_lease WHERE lease_id = %s", (lease_id,)).rowcount)


# Set by `cakupan run`/`backfill` (dag_run.run_nightly), whose nights run every task in the command's own process:
# when that process is gone, so is the night, and its lease need not go stale first.
IN_PROCESS_VARIABLE = "CAKUPAN_NIGHT_IN_PROCESS"
_IN_PROCESS = re.compile(r"(?P<host>\S+) pid (?P<pid>\d+) \(in-process\)")


def holder_name() -> str:
    kind = "in-process" if os.environ.get(IN_PROCESS_VARIABLE) else "task"
    return f"{socket.gethostname()} pid {os.getpid()} ({kind})"


def _in_process_holder_is_gone(holder: str) -> bool:
    """The holder was a `cakupan run` on this machine whose process has ended (killed, or the machine restarted):
    a scheduler's night moves from process to process, so only an in-process night can be judged by its pid."""
    match = _IN_PROCESS.fullmatch(holder)
    if not match or match["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, as another user
        return False
    return False


class Heartbeat:
    """Refreshes the lease from a thread of its own (its own connection) while a task of the night works."""

    def __init__(self, settings: Settings, lease_id: str):
        self.settings, self.lease_id = settings, lease_id
        self.lost: NightLeaseLost | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="night-lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = None
        while not self._stop.wait(HEARTBEAT_EVERY.total_seconds()):
            try:
                conn = conn if conn and not conn.closed else db.connect(self.settings, "loader")
                beat(conn, self.lease_id)
            except NightLeaseLost as lost:
                log.error("%s", lost)
                self.lost = lost
                break
            except psycopg.Error as error:  # the warehouse out of reach for a moment: the next beat tries again
                log.warning("Could not refresh the night lease: %s", error)
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()


# The DAG's tasks use the lease through these, with their Airflow context.

def _lease_id_of_night(context) -> str | None:
    return context["ti"].xcom_pull(task_ids=TAKING_TASK, key=XCOM_KEY)


@contextmanager
def taken_for_night(settings: Settings, context) -> Iterator[Lease]:
    """The night's first task: wait for the lease, keep it beating while the task runs, and hand its id to the
    night's later tasks. A task that fails gives it back: it has written nothing yet, and its retry takes it."""
    from cakupan.orchestration.airflow_support import snapshot_date_of

    with db.connect(settings, "loader") as conn:
        if conn.execute("SELECT to_regclass('audit.night_lease')").fetchone()[0] is None:
            with db.connect(settings, "admin") as admin:
                db.apply_schema(admin)  # a warehouse from before the lease: no night of this version runs on it
        lease = take(conn, run_id=context["run_id"], snapshot_date=snapshot_date_of(context), holder=holder_name())
    try:
        context["ti"].xcom_push(key=XCOM_KEY, value=lease.lease_id)
        with Heartbeat(settings, lease.lease_id) as heartbeat:
            yield lease
        if heartbeat.lost:
            raise heartbeat.lost
    except BaseException:
        with db.connect(settings, "loader") as conn:
            release(conn, lease.lease_id)
        raise


@contextmanager
def held_for_night(settings: Settings, context) -> Iterator[str]:
    """A later task of the night: confirm that the night still holds the lease (else NightLeaseLost, before the
    task writes anything) and keep it beating while the task runs. Yields the lease's id."""
    lease_id = _lease_id_of_night(context)
    if not lease_id:
        raise NightLeaseLost(f"This night holds no night lease: {TAKING_TASK} did not take one.")
    with db.connect(settings, "loader") as conn:
        beat(conn, lease_id)
    with Heartbeat(settings, lease_id) as heartbeat:
        yield lease_id
    if heartbeat.lost:
        raise heartbeat.lost


def release_for_night(settings: Settings, context) -> None:
    """The night's last task: give the lease back, whatever the night's other tasks did. If the warehouse cannot
    be reached, the lease is left to go stale rather than failing the task that marks the night as checked."""
    lease_id = _lease_id_of_night(context)
    if not lease_id:
        return
    try:
        with db.connect(settings, "loader") as conn:
            if release(conn, lease_id):
                log.info("Night lease released.")
    except psycopg.Error as error:
        log.warning("Could not release the night lease (it is abandoned after %d min without a heartbeat): %s",
                    STALE_AFTER.total_seconds() // 60, error)
