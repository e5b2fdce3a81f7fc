"""Publish the marts only after they pass their gates: the night builds a candidate copy, and one
transaction writes its figures into the published marts.

BI tools and the docs site read schema `marts`. Each night `prepare_candidate` copies the published marts
(their whole history: the daily marts are incremental) into `marts_candidate`; dbt builds and tests the
night's date there; the marts quality gate checks it there; and only then `publish` replaces, in the
published tables, the rows the night made: the night's date of each daily mart, every row of the others. A
failed gate leaves `marts` exactly as it was, and the candidate stays behind for whoever investigates.

Rows, not tables, are replaced, so that publishing never waits for a reader and no reader waits for it: a
DELETE and an INSERT take only locks that readers' locks do not conflict with, and PostgreSQL's row versions
show each statement (and each repeatable-read transaction) the old night or the new one, whole. Swapping the
schemas instead had to drop the old tables, which waited for every BI query still reading them while every
new BI query queued behind it (docs/decisions.md, change 20). A mart's table is made again only when the
night changed its columns (a new version of Cakupan): then publishing needs the readers of that table gone,
waits for them at most `STRUCTURE_LOCK_TIMEOUT`, and otherwise fails saying who holds it, to be retried.

Only one night runs at a time (night_lease.py), but publishing does not rely on it alone: in its transaction it
refuses a candidate that another run prepared, and one that lacks a date (or rows of a date) the published
daily marts hold, so that no published figure is ever lost to two nights crossing.
"""

from __future__ import annotations

import datetime as dt
import logging

import psycopg
from psycopg import sql

from cakupan.platform.roles import grant_bi_read
from cakupan.publish import night_lease
from cakupan.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

PUBLISHED = "marts"
CANDIDATE = "marts_candidate"
# The marts that keep a set of rows per snapshot date, night after night: the models of dbt's marts/daily/
# folder (incremental by snapshot_date), where a night adds or replaces its own date and leaves every other as
# it was. The award marts also have a snapshot_date column, but it names the year's latest snapshot and moves.
DAILY_MARTS_FOLDER = PROJECT_ROOT / "dbt_project" / "models" / "marts" / "daily"
DAILY_MARTS = tuple(sorted(model.stem for model in DAILY_MARTS_FOLDER.glob("*.sql")))
# Each daily mart's view of its latest published date, for BI tools (docs/bi.md).
LATEST_SUFFIX = "_latest"
# How long publishing waits for readers of a mart whose table it must make again (columns changed), before
# failing so that the task is retried: long enough for a dashboard's query, short enough that BI queries
# queued behind the wait are not held up for long.
STRUCTURE_LOCK_TIMEOUT = "5s"


def latest_view(daily_mart: str) -> str:
    return daily_mart + LATEST_SUFFIX


def _published_tables(conn: psycopg.Connection, schema: str = PUBLISHED) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,))]


def prepare_candidate(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None = None) -> int:
    """A fresh candidate schema holding a copy of every published mart (structure, constraints, indexes,
    comments and rows), recorded as the candidate of `snapshot_date` (the marts gate checks that date's rows)
    built by `run_id` (only that run may publish it). Returns the number of tables copied."""
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
    """Write the checked candidate's figures into `marts`, and record it, in one transaction; but only this
    night's candidate (`run_id`, the lease `lease_id` still held), and only if it lost no published date."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(STRUCTURE_LOCK_TIMEOUT)))
        if lease_id:
            night_lease.beat(conn, lease_id)  # keeps the lease locked until the publication commits
        _refuse_another_runs_candidate(conn, snapshot_date, run_id)
        if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (CANDIDATE,)).fetchone():
            raise RuntimeError(f"Nothing to publish: schema {CANDIDATE} does not exist (was dbt_build skipped?).")
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (PUBLISHED,)).fetchone():
            _refuse_lost_dates(conn, snapshot_date)
        else:
            conn.execute(f"CREATE SCHEMA {PUBLISHED}")
            grant_bi_read(conn, PUBLISHED)
        tables = _published_tables(conn, CANDIDATE)
        for table in tables:
            _publish_table(conn, table, snapshot_date)
        for table in set(_published_tables(conn)) - set(tables):
            _drop_published_table(conn, table)
        for table in DAILY_MARTS:
            if table in tables:
                _ensure_latest_view(conn, table)
        conn.execute(
            "INSERT INTO audit.publications (snapshot_date, run_id) VALUES (%s, %s)", (snapshot_date, run_id)
        )
    for table in tables:  # outside the transaction: statistics for the next reader's plans, blocking nobody
        conn.execute(f"ANALYZE {PUBLISHED}.{table}")


def _publish_table(conn: psycopg.Connection, table: str, snapshot_date: dt.date) -> None:
    """The candidate's rows of `table` in the published table: the night's date of a daily mart, else all."""
    columns = _columns(conn, CANDIDATE, table)
    published_columns = _columns(conn, PUBLISHED, table)
    if columns != published_columns:
        _make_table_again(conn, table, replacing=bool(published_columns))
    else:
        names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
        only_the_night = sql.SQL(" WHERE snapshot_date = {}").format(sql.Literal(snapshot_date)) \
            if table in DAILY_MARTS else sql.SQL("")
        published, candidate = (sql.Identifier(schema, table) for schema in (PUBLISHED, CANDIDATE))
        conn.execute(sql.SQL("DELETE FROM {}").format(published) + only_the_night)
        conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(published, names, names, candidate)
                     + only_the_night)
    # LIKE copies the columns' descriptions only; a table kept takes those that changed.
    _copy_comments(conn, f"{CANDIDATE}.{table}", f"{PUBLISHED}.{table}")


def _columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
        """, (f"{schema}.{table}",)).fetchall()


def _make_table_again(conn: psycopg.Connection, table: str, *, replacing: bool) -> None:
    """A mart new to `marts`, or (`replacing`) one whose columns changed: the candidate's table, every row of it,
    made again in `marts` (its latest view with it)."""
    if replacing:
        log.info("marts.%s changes its columns: it is made again, once its readers are gone.", table)
        _drop_published_table(conn, table)
    conn.execute(f"CREATE TABLE {PUBLISHED}.{table} (LIKE {CANDIDATE}.{table} INCLUDING ALL)")
    conn.execute(f"INSERT INTO {PUBLISHED}.{table} SELECT * FROM {CANDIDATE}.{table}")
    grant_bi_read(conn, PUBLISHED, table)


def _drop_published_table(conn: psycopg.Connection, table: str) -> None:
    """Drop `marts.table` (its latest view with it), which needs its readers gone, or fail naming the sessions
    that read it."""
    try:
        with conn.transaction():
            conn.execute(f"DROP TABLE {PUBLISHED}.{table} CASCADE")
    except psycopg.errors.LockNotAvailable:
        readers = conn.execute(
            """
            SELECT string_agg(format('pid %%s (%%s, %%s)', a.pid, a.usename,
                                     coalesce(nullif(a.application_name, ''), 'no application name')), '; ')
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.relation = to_regclass(%s) AND l.granted AND a.pid <> pg_backend_pid()
            """, (f"{PUBLISHED}.{table}",)).fetchone()[0]
        raise PublicationRefused(
            f"Publishing changes the columns of marts.{table}, or drops it (a new version of Cakupan), which needs "
            f"its readers gone, and after {STRUCTURE_LOCK_TIMEOUT} some still read it: "
            f"{readers or 'they have just left'}. "
            "Nothing is published. Run the night again (Airflow retries the task); a BI session left open in a "
            "transaction ends at the BI role's idle-in-transaction timeout (docs/bi.md, Timeouts).") from None


def _copy_comments(conn: psycopg.Connection, source: str, target: str, table_prefix: str = "") -> None:
    """The description of relation `source` and its columns (dbt's persist_docs) onto `target`'s, where they
    differ (`table_prefix` before the relation's own): COMMENT waits for an autovacuum of the table, so it is run
    only when a description changed."""
    differences = conn.execute(
        """
        SELECT NULL::name, nullif(concat_ws(E'\\n\\n', %(prefix)s::text, obj_description(to_regclass(%(source)s),
                                                                          'pg_class')), '')
        EXCEPT SELECT NULL::name, obj_description(to_regclass(%(target)s), 'pg_class')
        UNION ALL
        SELECT a.attname, col_description(a.attrelid, a.attnum)
        FROM pg_attribute a JOIN pg_attribute t ON t.attrelid = to_regclass(%(target)s) AND t.attname = a.attname
        WHERE a.attrelid = to_regclass(%(source)s) AND a.attnum > 0 AND NOT a.attisdropped
          AND col_description(a.attrelid, a.attnum) IS DISTINCT FROM col_description(t.attrelid, t.attnum)
        """, {"source": source, "target": target, "prefix": table_prefix or None}).fetchall()
    kind = conn.execute("SELECT CASE relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END FROM pg_class "
                        "WHERE oid = to_regclass(%s)", (target,)).fetchone()[0]
    target_name = sql.Identifier(*target.split("."))
    for column, comment in differences:
        subject = sql.SQL(kind + " {}").format(target_name) if column is None else \
            sql.SQL("COLUMN {}").format(sql.Identifier(*target.split("."), column))
        conn.execute(sql.SQL("COMMENT ON {} IS {}").format(subject, sql.Literal(comment)))


def _ensure_latest_view(conn: psycopg.Connection, table: str) -> None:
    """`marts.<daily mart>_latest`: the mart's rows of its latest published date, described like the mart.
    Made only when missing (its table was made again, or it never existed): a view replaced needs its readers
    gone."""
    view = latest_view(table)
    published, latest = sql.Identifier(PUBLISHED, table), sql.Identifier(PUBLISHED, view)
    if conn.execute("SELECT to_regclass(%s)", (f"{PUBLISHED}.{view}",)).fetchone()[0] is None:
        conn.execute(sql.SQL("CREATE VIEW {} AS SELECT * FROM {} WHERE snapshot_date = "
                             "(SELECT max(snapshot_date) FROM {})").format(latest, published, published))
        grant_bi_read(conn, PUBLISHED, view)
    _copy_comments(conn, f"{PUBLISHED}.{table}", f"{PUBLISHED}.{view}", table_prefix=(
        f"Hanya tanggal terbaru yang diterbitkan dari marts.{table} / Only the latest published date of "
        f"marts.{table}."))


class PublicationRefused(RuntimeError):
    """The candidate is not this night's to publish, or publishing it would lose published figures."""


def _refuse_another_runs_candidate(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None) -> None:
    # Locked until the publication commits: a night preparing a candidate meanwhile waits, or is the one refused.
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
