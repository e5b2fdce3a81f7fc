"""Publish the marts only after they pass their gates: the night builds a candidate copy, and one
transaction swaps it in.

BI tools and the docs site read schema `marts`. Each night `prepare_candidate` copies the published marts
(their whole history: the daily marts are incremental) into `marts_candidate`; dbt builds and tests the
night's date there; the marts quality gate checks it there; and only then `publish` renames the candidate
to `marts` in one transaction. A failed gate leaves `marts` exactly as it was, and the candidate stays
behind for whoever investigates.

Only one night runs at a time (night_lease.py), but the swap does not rely on it alone: in its transaction it
refuses a candidate that another run prepared, and one that lacks a date (or rows of a date) the published
daily marts hold, so that no published figure is ever lost to two nights crossing.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from cakupan.platform.roles import grant_published_marts
from cakupan.publish import night_lease
from cakupan.settings import PROJECT_ROOT

PUBLISHED = "marts"
CANDIDATE = "marts_candidate"
_RETIRED = "marts_retired"
# The marts that keep a set of rows per snapshot date, night after night: the models of dbt's marts/daily/
# folder (incremental by snapshot_date), where a night adds or replaces its own date and leaves every other as
# it was. The award marts also have a snapshot_date column, but it names the year's latest snapshot and moves.
DAILY_MARTS_FOLDER = PROJECT_ROOT / "dbt_project" / "models" / "marts" / "daily"
DAILY_MARTS = tuple(sorted(model.stem for model in DAILY_MARTS_FOLDER.glob("*.sql")))


def _published_tables(conn: psycopg.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (PUBLISHED,))]


def prepare_candidate(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None = None) -> int:
    """A fresh candidate schema holding a copy of every published mart (structure, constraints, indexes
    and rows), recorded as the candidate of `snapshot_date` (the marts gate checks that date's rows) built by
    `run_id` (only that run may publish it). Returns the number of tables copied."""
    tables = _published_tables(conn)
    with conn.transaction():
        conn.execute(f"DROP SCHEMA IF EXISTS {CANDIDATE} CASCADE")
        conn.execute(f"CREATE SCHEMA {CANDIDATE}")
        for table in tables:
            conn.execute(f"CREATE TABLE {CANDIDATE}.{table} (LIKE {PUBLISHED}.{table} INCLUDING ALL)")
            conn.execute(f"INSERT INTO {CANDIDATE}.{table} SELECT * FROM {PUBLISHED}.{table}")
        conn.execute("INSERT INTO audit.marts_candidate (snapshot_date, run_id) VALUES (%s, %s) ON CONFLICT (only_row) "
                     "DO UPDATE SET snapshot_date = excluded.snapshot_date, run_id = excluded.run_id, "
                     "prepared_at = now()", (snapshot_date, run_id))
    return len(tables)


def publish(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None = None,
            lease_id: str | None = None) -> None:
    """Swap the checked candidate in as `marts`, and record it, in one transaction; but only this night's
    candidate (`run_id`, the lease `lease_id` still held), and only if it lost no published date."""
    with conn.transaction():
        if lease_id:
            night_lease.beat(conn, lease_id)  # keeps the lease locked until the swap commits
        _refuse_another_runs_candidate(conn, snapshot_date, run_id)
        conn.execute(f"DROP SCHEMA IF EXISTS {_RETIRED} CASCADE")
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (CANDIDATE,)).fetchone()
        if not exists:
            raise RuntimeError(f"Nothing to publish: schema {CANDIDATE} does not exist (was dbt_build skipped?).")
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (PUBLISHED,)).fetchone():
            _refuse_lost_dates(conn, snapshot_date)
            conn.execute(f"ALTER SCHEMA {PUBLISHED} RENAME TO {_RETIRED}")
        conn.execute(f"ALTER SCHEMA {CANDIDATE} RENAME TO {PUBLISHED}")
        grant_published_marts(conn, PUBLISHED)
        conn.execute(f"DROP SCHEMA IF EXISTS {_RETIRED} CASCADE")
        conn.execute(
            "INSERT INTO audit.publications (snapshot_date, run_id) VALUES (%s, %s)", (snapshot_date, run_id)
        )


class PublicationRefused(RuntimeError):
    """The candidate is not this night's to publish, or publishing it would lose published figures."""


def _refuse_another_runs_candidate(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None) -> None:
    # Locked until the swap commits: a night preparing a candidate meanwhile waits, or is the one refused.
    prepared = conn.execute("SELECT snapshot_date, run_id FROM audit.marts_candidate FOR UPDATE").fetchone()
    if prepared is None:
        raise PublicationRefused("Nothing to publish: no candidate was prepared (was dbt_build skipped?).")
    if tuple(prepared) != (snapshot_date, run_id):
        raise PublicationRefused(
            f"The candidate marts are not this night's: they were prepared for {prepared[0]} by run {prepared[1]}, "
            f"and this is run {run_id} for {snapshot_date}. Another night ran at the same time; nothing is "
            "published. Run this date again.")


def _refuse_lost_dates(conn: psycopg.Connection, snapshot_date: dt.date) -> None:
    """Every date of every published daily mart must be in the candidate, and with as many rows, except the
    night's own date, which the night rebuilt."""
    if not DAILY_MARTS:  # without them nothing would be checked: never publish blind
        raise PublicationRefused(f"No daily marts in {DAILY_MARTS_FOLDER}: set CAKUPAN_PROJECT_ROOT to the project.")
    daily = [table for table in DAILY_MARTS
             if conn.execute("SELECT to_regclass(%s)", (f"{PUBLISHED}.{table}",)).fetchone()[0] is not None]
    problems = []
    for table in daily:
        if conn.execute("SELECT to_regclass(%s)", (f"{CANDIDATE}.{table}",)).fetchone()[0] is None:
            problems.append(f"{table}: missing from the candidate")
            continue
        published, candidate = (dict(conn.execute(
            f"SELECT snapshot_date, count(*) FROM {schema}.{table} GROUP BY snapshot_date").fetchall())
            for schema in (PUBLISHED, CANDIDATE))
        missing = sorted(date for date in published if date not in candidate)
        changed = sorted(date for date in published if date in candidate and date != snapshot_date
                         and candidate[date] != published[date])
        if missing:
            problems.append(f"{table}: published dates missing from the candidate: "
                            + ", ".join(map(str, missing)))
        if changed:
            problems.append(f"{table}: rows of other dates changed: " + ", ".join(
                f"{date} ({published[date]} published, {candidate[date]} in the candidate)" for date in changed))
    if problems:
        raise PublicationRefused(
            f"Publishing the candidate of {snapshot_date} would lose published figures, so nothing is published:\n"
            + "\n".join(f"  - {problem}" for problem in problems))
