"""The warehouse roles of marts-v1: none is a superuser, each may do its own job and no more."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from cakupan.platform import db
from cakupan.publish import publication
from warehouse_access import assert_bi_reads_the_marts_and_nothing_else, refused

ROLES = ("cakupan_admin", "cakupan_loader", "cakupan_transformer", "cakupan_bi")


def test_no_project_role_is_a_superuser_or_may_create_roles(conn):
    rows = conn.execute(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)",
        (list(ROLES) + ["cakupan_airflow"],),
    ).fetchall()
    assert sorted(rows) == sorted((name, False, False, False, True) for name in (*ROLES, "cakupan_airflow"))


def test_bi_reads_published_marts_only(settings, empty_warehouse):
    with db.connect(settings, "transformer") as transformer:
        publication.prepare_candidate(transformer, dt.date(2026, 11, 20))
        transformer.execute("CREATE TABLE marts_candidate.coverage_probe AS SELECT 1 AS covered_persons")
        publication.publish(transformer, dt.date(2026, 11, 20))
    assert_bi_reads_the_marts_and_nothing_else(settings, empty_warehouse)


def test_each_role_writes_only_where_it_should(settings, empty_warehouse):
    empty_warehouse.execute("CREATE SCHEMA IF NOT EXISTS marts")
    with db.connect(settings, "loader") as loader:
        assert not refused(loader, "INSERT INTO audit.gate_results (snapshot_date, gate, passed) "
                                   "VALUES ('2026-11-20', 'probe', true)")
        assert refused(loader, "CREATE TABLE marts.loader_scratch (x int)")
        assert refused(loader, "CREATE SCHEMA loader_scratch")
        assert refused(loader, "DROP TABLE raw.peserta")
    with db.connect(settings, "transformer") as transformer:
        transformer.execute("SELECT count(*) FROM raw.peserta")
        assert refused(transformer, "DELETE FROM raw.peserta")
        assert refused(transformer, "DELETE FROM audit.rejected_rows")
        assert refused(transformer, "INSERT INTO reference.villages (village_code) VALUES ('99.99.99.9999')")
    with db.connect(settings, "admin") as admin:
        assert not admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        admin.execute("SELECT count(*) FROM raw.peserta")


def test_public_may_not_connect(settings):
    from cakupan.platform.warehouse import warehouse_url

    with db.connect(settings, "setup") as conn:
        conn.execute("DROP ROLE IF EXISTS cakupan_stranger")
        conn.execute("CREATE ROLE cakupan_stranger LOGIN PASSWORD 'stranger'")
    try:
        url = make_conninfo(warehouse_url(settings, "bi"), user="cakupan_stranger", password="stranger")
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(url)
    finally:
        with db.connect(settings, "setup") as conn:
            conn.execute("DROP ROLE cakupan_stranger")


def test_cakupan_warehouse_url_prints_each_role():
    for role in ("admin", "loader", "transformer", "bi"):
        url = subprocess.run([sys.executable, "-m", "cakupan.cli", "warehouse", "url", "--role", role,
                              "--show-password"], capture_output=True, text=True, check=True).stdout.strip()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == f"cakupan_{role}"


def test_a_bi_timeout_that_is_no_duration_is_refused_saying_how_to_fix_it(settings, monkeypatch):
    from cakupan.errors import UserError
    from cakupan.platform import roles
    from cakupan.settings import load_settings

    monkeypatch.setenv("CAKUPAN_BI_STATEMENT_TIMEOUT", "five minutes")
    with pytest.raises(UserError, match=r"CAKUPAN_BI_STATEMENT_TIMEOUT='five minutes' is not a PostgreSQL duration"
                                        r".*such as 90s, 5min or 1h"):
        roles.setup_warehouse(load_settings())
