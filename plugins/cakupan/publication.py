"""Publish the marts only after they pass their gates: the night builds a candidate copy, and one
transaction swaps it in.

BI tools and the docs site read schema `marts`. Each night `prepare_candidate` copies the published marts
(their whole history: the daily marts are incremental) into `marts_candidate`; dbt builds and tests the
night's date there; the marts quality gate checks it there; and only then `publish` renames the candidate
to `marts` in one transaction. A failed gate leaves `marts` exactly as it was, and the candidate stays
behind for whoever investigates.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from cakupan.roles import grant_published_marts

PUBLISHED = "marts"
CANDIDATE = "marts_candidate"
_RETIRED = "marts_retired"


def _published_tables(conn: psycopg.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (PUBLISHED,))]


def prepare_candidate(conn: psycopg.Connection, snapshot_date: dt.date) -> int:
    """A fresh candidate schema holding a copy of every published mart (structure, constraints, indexes
    and rows), recorded as the candidate of `snapshot_date` (the marts gate checks that date's rows).
    Returns the number of tables copied."""
    tables = _published_tables(conn)
    with conn.transaction():
        conn.execute(f"DROP SCHEMA IF EXISTS {CANDIDATE} CASCADE")
        conn.execute(f"CREATE SCHEMA {CANDIDATE}")
        for table in tables:
            conn.execute(f"CREATE TABLE {CANDIDATE}.{table} (LIKE {PUBLISHED}.{table} INCLUDING ALL)")
            conn.execute(f"INSERT INTO {CANDIDATE}.{table} SELECT * FROM {PUBLISHED}.{table}")
        conn.execute("INSERT INTO audit.marts_candidate (snapshot_date) VALUES (%s) ON CONFLICT (only_row) "
                     "DO UPDATE SET snapshot_date = excluded.snapshot_date, prepared_at = now()", (snapshot_date,))
    return len(tables)


def publish(conn: psycopg.Connection, snapshot_date: dt.date, run_id: str | None = None) -> None:
    """Swap the checked candidate in as `marts`, and record it, in one transaction."""
    with conn.transaction():
        conn.execute(f"DROP SCHEMA IF EXISTS {_RETIRED} CASCADE")
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (CANDIDATE,)).fetchone()
        if not exists:
            raise RuntimeError(f"Nothing to publish: schema {CANDIDATE} does not exist (was dbt_build skipped?).")
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (PUBLISHED,)).fetchone():
            conn.execute(f"ALTER SCHEMA {PUBLISHED} RENAME TO {_RETIRED}")
        conn.execute(f"ALTER SCHEMA {CANDIDATE} RENAME TO {PUBLISHED}")
        grant_published_marts(conn, PUBLISHED)
        conn.execute(f"DROP SCHEMA IF EXISTS {_RETIRED} CASCADE")
        conn.execute(
            "INSERT INTO audit.publications (snapshot_date, run_id) VALUES (%s, %s)", (snapshot_date, run_id)
        )
