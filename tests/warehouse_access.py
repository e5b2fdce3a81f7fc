"""What each warehouse role can and cannot do, checked on a real warehouse (marts-v1, "Roles")."""

from __future__ import annotations

import psycopg
from psycopg import sql

from cakupan.platform import db

# Columns that would carry a participant's identity, pseudonymised or not.
IDENTIFYING_COLUMNS = {"nik", "nik_hash", "kpj", "nama", "tanggal_lahir", "birth_date", "person_key", "person_id"}


def relations(conn: psycopg.Connection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(%s) ORDER BY 1, 2",
        (list(schemas),),
    ).fetchall()


def refused(conn: psycopg.Connection, statement: sql.Composable | str) -> bool:
    """True when PostgreSQL refuses the statement for want of a privilege (or a read-only session)."""
    try:
        with conn.transaction():
            conn.execute(statement)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
        return True
    return False


def assert_bi_reads_the_marts_and_nothing_else(settings, owner_conn: psycopg.Connection) -> None:
    marts = relations(owner_conn, ("marts",))
    hidden = relations(owner_conn, ("raw", "audit", "staging", "intermediate", "reference"))
    assert marts and hidden
    with db.connect(settings, "bi") as bi:
        for schema, table in marts:
            bi.execute(sql.SQL("SELECT * FROM {}.{} LIMIT 1").format(sql.Identifier(schema), sql.Identifier(table)))
        for schema, table in hidden:
            assert refused(bi, sql.SQL("SELECT 1 FROM {}.{} LIMIT 1").format(
                sql.Identifier(schema), sql.Identifier(table))), f"cakupan_bi can read {schema}.{table}"
        for schema, table in marts:
            target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            assert refused(bi, sql.SQL("DELETE FROM {}").format(target)), f"cakupan_bi can delete {schema}.{table}"
        assert refused(bi, "CREATE TABLE marts.bi_scratch (x int)")
        assert refused(bi, "CREATE TABLE public.bi_scratch (x int)")
        assert refused(bi, "CREATE TEMPORARY TABLE bi_scratch (x int)")
        # Where PostgreSQL lets a role's view be narrowed, BI sees no schema but the marts.
        assert {name for (name,) in bi.execute("SELECT schema_name FROM information_schema.schemata")} == {
            "marts", "pg_catalog", "information_schema"}
        # Its sessions are bounded (docs/bi.md, "Timeouts").
        assert [bi.execute(f"SHOW {parameter}").fetchone()[0] for parameter in (
            "statement_timeout", "idle_in_transaction_session_timeout", "default_transaction_read_only")] == [
            settings.bi_statement_timeout, settings.bi_idle_in_transaction_timeout, "on"]
    columns = {column for (column,) in owner_conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts'")}
    assert not columns & IDENTIFYING_COLUMNS, columns & IDENTIFYING_COLUMNS


def assert_the_night_ran_as_the_project_roles(owner_conn: psycopg.Connection) -> None:
    """Whatever the night created belongs to the role that should have created it, never to the superuser."""
    owners = dict(owner_conn.execute(
        """SELECT n.nspname, string_agg(DISTINCT pg_get_userbyid(c.relowner), ',')
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('reference', 'raw', 'audit', 'staging', 'intermediate', 'marts')
           GROUP BY n.nspname""").fetchall())
    assert owners == {"reference": "cakupan_admin", "raw": "cakupan_admin", "audit": "cakupan_admin",
                      "staging": "cakupan_transformer", "intermediate": "cakupan_transformer",
                      "marts": "cakupan_transformer"}
