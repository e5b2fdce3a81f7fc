"""The warehouse's roles and who may do what (marts-v1, "Roles"): created and granted from the setup account.

- `cakupan_admin` owns `reference`, `raw` and `audit` (their tables come from `sql/schema.sql`) and is a
  member of every other role, so it may do whatever they may; it is not a superuser.
- `cakupan_loader` reads `reference`, writes `raw` and `audit`.
- `cakupan_transformer` reads `reference`, `raw` and `audit`, owns the schemas dbt builds (`staging`,
  `intermediate`, the candidate marts and, once published, `marts`) and records the candidate and the
  publication in `audit`.
- `cakupan_bi` (BI tools and reviewers) reads `marts` only, and its sessions are read-only. It may hold at
  most `bi_connection_limit` connections, so that BI tools left open can never take the slots a night needs.

Nobody but these may connect, and only the loader, the transformer and the admin may create temporary
tables, in the warehouse's database only: PUBLIC loses TEMPORARY on every database of the server. BI's
sessions start read-only, but a session may turn that off for itself, and then only the privilege stops it
filling a disk with temporary tables (from the `postgres` database, say). `setup` is idempotent: every
`cakupan warehouse start` and `cakupan warehouse setup` runs it, so a warehouse made by an older version is
brought in line (objects the setup account owned are handed over).
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql

from cakupan.errors import UserError
from cakupan.platform.db import apply_schema
from cakupan.platform.warehouse import (
    AIRFLOW_DATABASE,
    AIRFLOW_ROLE,
    ROLES,
    check_server_version,
    embedded,
    role_password,
    role_user,
    warehouse_url,
)
from cakupan.settings import Settings

ADMIN, LOADER, TRANSFORMER, BI = (role_user(role) for role in ROLES)
ADMIN_SCHEMAS = ("reference", "raw", "audit")
TRANSFORMER_SCHEMAS = ("staging", "intermediate", "marts", "marts_candidate")
# Bookkeeping the transformer does in the same transaction as its own work (candidate, publication, the
# participants layer's builds).
TRANSFORMER_WRITES_AUDIT = ("audit.marts_candidate", "audit.publications", "audit.participants_layer_builds",
                            "audit.reference_layer_builds")
# The rubric is stored by the night's dbt step, just before dbt reads it.
TRANSFORMER_WRITES_REFERENCE = ("reference.award_rubric",)

_RELATION_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}

# Connections of Airflow's metadata database when it is on the warehouse's server (the embedded one): its four
# services (api-server, scheduler, dag-processor, triggerer), each with SQLAlchemy's pool of 5.
AIRFLOW_CONNECTIONS = 4 * 5
# What else a night holds at once besides dbt's threads and a loader per core: the gates, the night lease's
# heartbeat, the publication, the CLI's own.
NIGHT_BOOKKEEPING_CONNECTIONS = 5


def night_connections(settings: Settings) -> int:
    """The most connections a night (with Airflow's services) holds on the warehouse's server at once."""
    dbt = settings.dbt_threads + 1
    loaders = settings.load_batches
    return AIRFLOW_CONNECTIONS + dbt + loaders + NIGHT_BOOKKEEPING_CONNECTIONS


def bi_connection_limit(conn: psycopg.Connection, settings: Settings) -> int:
    """The connections cakupan_bi may hold: the server's slots less those kept for superusers and less a
    night's, so that however many BI sessions are open, the night can start."""
    slots, reserved = conn.execute(
        "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int"
        " + coalesce(current_setting('reserved_connections', true)::int, 0)").fetchone()
    return max(1, slots - reserved - night_connections(settings))


def setup(settings: Settings) -> list[str]:
    """Everything the roles need, on the embedded server Airflow's metadata database too. Returns the databases
    where PUBLIC keeps TEMPORARY (setup_warehouse)."""
    if settings.embedded:
        server = embedded(settings)
        setup_airflow_database(server.url(AIRFLOW_DATABASE), server.role_password(AIRFLOW_ROLE))
    return setup_warehouse(settings)


def setup_warehouse(settings: Settings) -> list[str]:
    """Create or update the four roles, the project's schemas and tables, and every grant. Returns the databases
    of the server on which PUBLIC keeps TEMPORARY because the setup account may not change them (a DBA must:
    docs/commands.md, "Warehouse roles")."""
    with psycopg.connect(warehouse_url(settings, "setup"), autocommit=True) as conn, conn.transaction():
        check_server_version(conn, warehouse_url(settings, "setup"))
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('cakupan.platform.roles'))")
        for role in ROLES:
            _ensure_login_role(conn, role_user(role), role_password(settings, role))
        _bound_bi_sessions(conn, settings)
        conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
            sql.Identifier(BI), sql.Literal(bi_connection_limit(conn, settings))))
        temporary_left_to_public = _revoke_public_temporary(conn)
        conn.execute(sql.SQL("GRANT {}, {}, {} TO {}").format(*map(sql.Identifier, (LOADER, TRANSFORMER, BI, ADMIN))))
        database = sql.Identifier(conn.info.dbname)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}, {}, {}").format(
            database, *map(sql.Identifier, (ADMIN, LOADER, TRANSFORMER, BI))))
        conn.execute(sql.SQL("GRANT CREATE, TEMPORARY ON DATABASE {} TO {}, {}").format(
            database, sql.Identifier(ADMIN), sql.Identifier(TRANSFORMER)))
        conn.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(database, sql.Identifier(LOADER)))
        for schema in ADMIN_SCHEMAS:
            _own_schema(conn, schema, ADMIN, create=True)
        for schema in TRANSFORMER_SCHEMAS:
            _own_schema(conn, schema, TRANSFORMER, create=False)
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'marts'").fetchone():
            grant_bi_read(conn)
        _keep_public_schema_from_bi(conn)
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(ADMIN)))
        apply_schema(conn)
        conn.execute(_grants())
        conn.execute("RESET ROLE")
    return temporary_left_to_public


def _bound_bi_sessions(conn: psycopg.Connection, settings: Settings) -> None:
    """BI's sessions start read-only, and neither a runaway query nor a client left open inside a transaction
    holds the warehouse for longer than its timeout (docs/bi.md, "Timeouts")."""
    for parameter, value, variable in (
            ("default_transaction_read_only", "on", None),
            ("statement_timeout", settings.bi_statement_timeout, "CAKUPAN_BI_STATEMENT_TIMEOUT"),
            ("idle_in_transaction_session_timeout", settings.bi_idle_in_transaction_timeout,
             "CAKUPAN_BI_IDLE_IN_TRANSACTION_TIMEOUT")):
        try:
            with conn.transaction():
                conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(BI), sql.Identifier(parameter), sql.Literal(value)))
        except psycopg.errors.InvalidParameterValue as error:
            raise UserError(f"{variable}={value!r} is not a PostgreSQL duration ({error.diag.message_primary}). "
                            "Give a number with a unit, such as 90s, 5min or 1h, or 0 for no limit.") from None


def _keep_public_schema_from_bi(conn: psycopg.Connection) -> None:
    """BI is to see no schema but `marts` where PostgreSQL lets a role's view be narrowed: information_schema
    lists only the schemas a role holds a privilege on, and PostgreSQL gives PUBLIC usage of schema `public`.
    Nothing of Cakupan lives there; it is taken from PUBLIC only while it is empty, so that a database shared
    with another application keeps working. The names of the other schemas stay in pg_namespace, which every
    role may read: PostgreSQL has no way to hide them (docs/bi.md says how to filter them in each BI tool)."""
    empty = conn.execute("SELECT to_regnamespace('public') IS NOT NULL AND NOT EXISTS "
                         "(SELECT FROM pg_class WHERE relnamespace = to_regnamespace('public'))").fetchone()[0]
    # A server by URL whose public schema the setup account may not change is left as it was.
    if empty:
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")


def _revoke_public_temporary(conn: psycopg.Connection) -> list[str]:
    """PUBLIC may not create temporary tables in any database of the server (PostgreSQL grants it by default,
    and a session may turn off its read-only default); the warehouse's database grants it back to the roles that
    need it. The databases the setup account may not change (a server by URL) are returned, left as they were."""
    refused = []
    for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1").fetchall():
        try:
            with conn.transaction():
                conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
                # Without the privilege the statement only warns; whether PUBLIC still has it is what counts.
                if conn.execute("SELECT has_database_privilege('public', %s, 'TEMPORARY')", (name,)).fetchone()[0]:
                    refused.append(name)
        except psycopg.errors.InsufficientPrivilege:
            refused.append(name)
    return refused


def _grants() -> str:
    raw_and_audit = "raw, audit"
    return f"""
        GRANT USAGE ON SCHEMA reference, raw, audit TO {LOADER}, {TRANSFORMER};
        GRANT SELECT ON ALL TABLES IN SCHEMA reference TO {LOADER}, {TRANSFORMER};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {raw_and_audit} TO {LOADER};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {raw_and_audit} TO {LOADER};
        GRANT SELECT ON ALL TABLES IN SCHEMA {raw_and_audit} TO {TRANSFORMER};
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA audit TO {TRANSFORMER};
        GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TRANSFORMER_WRITES_AUDIT + TRANSFORMER_WRITES_REFERENCE)}
            TO {TRANSFORMER};
        ALTER DEFAULT PRIVILEGES FOR ROLE {ADMIN} IN SCHEMA reference GRANT SELECT ON TABLES TO {LOADER}, {TRANSFORMER};
        ALTER DEFAULT PRIVILEGES FOR ROLE {ADMIN} IN SCHEMA {raw_and_audit}
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {LOADER};
        ALTER DEFAULT PRIVILEGES FOR ROLE {ADMIN} IN SCHEMA {raw_and_audit}
            GRANT USAGE, SELECT ON SEQUENCES TO {LOADER};
        ALTER DEFAULT PRIVILEGES FOR ROLE {ADMIN} IN SCHEMA {raw_and_audit} GRANT SELECT ON TABLES TO {TRANSFORMER};
        ALTER DEFAULT PRIVILEGES FOR ROLE {ADMIN} IN SCHEMA audit GRANT USAGE ON SEQUENCES TO {TRANSFORMER};
    """


def grant_bi_read(conn: psycopg.Connection, schema: str = "marts", relation: str | None = None) -> None:
    """BI reads `relation` of the published marts, or (none given) the schema and every relation in it.
    Publishing grants each table or view it makes, never those BI already reads: it must not wait for them."""
    if relation is not None:
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(schema, relation), sql.Identifier(BI)))
        return
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(BI)))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
        sql.Identifier(schema), sql.Identifier(BI)))


def setup_airflow_database(superuser_url: str, password: str) -> None:
    """Airflow's metadata database on the embedded server belongs to its own role, not the superuser."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        _ensure_login_role(conn, AIRFLOW_ROLE, password)
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(AIRFLOW_DATABASE), sql.Identifier(AIRFLOW_ROLE)))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(AIRFLOW_DATABASE)))
    with psycopg.connect(superuser_url, autocommit=True) as conn, conn.transaction():
        _hand_over(conn, "public", AIRFLOW_ROLE)


def _ensure_login_role(conn: psycopg.Connection, name: str, password: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
        sql.Identifier(name), sql.Literal(password)))


def _own_schema(conn: psycopg.Connection, schema: str, owner: str, *, create: bool) -> None:
    exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if not exists and create:
        conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(schema), sql.Identifier(owner)))
    elif exists:
        conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), sql.Identifier(owner)))
        _hand_over(conn, schema, owner)


def _hand_over(conn: psycopg.Connection, schema: str, owner: str) -> None:
    """Objects of `schema` that someone else owns (the setup account, before roles existed) go to `owner`."""
    relations = conn.execute(
        """
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind = ANY(%s) AND pg_get_userbyid(c.relowner) <> %s
          -- a sequence owned by a column follows its table
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
                                               WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
        """,
        (schema, list(_RELATION_KINDS), owner),
    ).fetchall()
    for name, kind in relations:
        conn.execute(sql.SQL("ALTER " + _RELATION_KINDS[kind] + " {}.{} OWNER TO {}").format(
            sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)))
    types = conn.execute(
        """
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = %s AND t.typtype IN ('e', 'd') AND pg_get_userbyid(t.typowner) <> %s
        """,
        (schema, owner),
    ).fetchall()
    for (name,) in types:
        conn.execute(sql.SQL("ALTER TYPE {}.{} OWNER TO {}").format(
            sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)))
