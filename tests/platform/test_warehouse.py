"""The embedded warehouse through the CLI: its URL works in psql, and CAKUPAN_WAREHOUSE_URL overrides it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cakupan.cli import main as cakupan
from cakupan.platform.local_ports import free_port
from cakupan.platform.warehouse import (
    SUPPORTED_POSTGRES,
    check_server_version,
    psql_path,
    shared_buffers_mib,
    supported_postgres,
    unsupported_postgres,
    warehouse_url,
)

PROJECT_ROOT = Path(__file__).parents[2]


def test_status_and_url_give_a_url_psql_can_use(settings, capsys):
    if not settings.embedded:
        return
    assert cakupan(["warehouse", "status"]) == 0
    assert capsys.readouterr().out.startswith("running: postgresql://cakupan_admin:***@127.0.0.1:")
    assert cakupan(["warehouse", "url", "--show-password"]) == 0
    url = capsys.readouterr().out.strip()
    assert "@127.0.0.1:" in url
    result = subprocess.run([str(psql_path()), url, "-Atc", "SELECT count(*) FROM reference.provinces"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "38"
    # Sized for the machine at every start: a quarter of its memory.
    result = subprocess.run([str(psql_path()), url, "-Atc", "SELECT setting::int * 8 / 1024 FROM pg_settings "
                             "WHERE name = 'shared_buffers'"], capture_output=True, text=True, check=True)
    assert int(result.stdout) == shared_buffers_mib()
    # Runs as an unprivileged system user when started by root: PostgreSQL refuses to run as root.
    owner = Path(settings.warehouse_dir / "pgdata").stat().st_uid
    assert owner != 0 or os.geteuid() != 0


def test_a_configured_url_starts_nothing(monkeypatch, capsys):
    monkeypatch.setenv("CAKUPAN_WAREHOUSE_URL", "postgresql://bi@db.example:5432/cakupan")
    assert cakupan(["warehouse", "start"]) == 0
    assert "nothing to start" in capsys.readouterr().out
    # Every step connects as its role, at the configured server, with that role's password from the environment.
    monkeypatch.setenv("CAKUPAN_BI_PASSWORD", "s3cret/pass")
    assert cakupan(["warehouse", "url", "--role", "bi", "--show-password"]) == 0
    assert capsys.readouterr().out.strip() == "postgresql://cakupan_bi:s3cret%2Fpass@db.example:5432/cakupan"
    assert cakupan(["warehouse", "url", "--role", "bi"]) == 0
    assert capsys.readouterr().out.strip() == "postgresql://cakupan_bi:***@db.example:5432/cakupan"
    monkeypatch.delenv("CAKUPAN_LOADER_PASSWORD", raising=False)  # set when the session's server is by URL
    assert cakupan(["warehouse", "url", "--role", "loader"]) == 1
    assert "set CAKUPAN_LOADER_PASSWORD" in capsys.readouterr().err


def test_shared_buffers_are_a_quarter_of_the_memory():
    assert shared_buffers_mib(24 * 2**30) == 6144
    assert shared_buffers_mib(256 * 2**20) == 128  # PostgreSQL's default, the least it gets


def test_the_warehouse_runs_a_supported_postgresql(settings, conn):
    assert conn.info.server_version // 10000 in SUPPORTED_POSTGRES
    check_server_version(conn, warehouse_url(settings, "setup"))


def test_an_older_postgresql_is_refused_naming_its_version_and_the_supported_ones():
    # No PostgreSQL older than 15 installs here (Debian 12's oldest is 15): the verdict on a server's version.
    refusal = unsupported_postgres(140011, "14.11 (Debian 14.11-1.pgdg120+1)", "postgresql://db.example:5432/cakupan")
    assert refusal.startswith("The warehouse at postgresql://db.example:5432/cakupan runs PostgreSQL 14.11 (Debian")
    assert "Cakupan supports PostgreSQL 15, 16, 17 and 18. Upgrade that server" in refusal
    assert unsupported_postgres(90624, "9.6.24", "db") is not None
    assert all(unsupported_postgres(major * 10000 + 1, f"{major}.1", "db") is None for major in SUPPORTED_POSTGRES)


def test_a_server_by_url_out_of_reach_is_named_with_what_to_do(monkeypatch, capsys):
    monkeypatch.setenv("CAKUPAN_WAREHOUSE_URL", f"postgresql://127.0.0.1:{free_port()}/cakupan")
    monkeypatch.setenv("CAKUPAN_ADMIN_PASSWORD", "s3cret")
    assert cakupan(["reference", "load"]) == 1
    error = capsys.readouterr().err
    assert "Cannot connect to the warehouse at postgresql://cakupan_admin:***@127.0.0.1:" in error
    assert "s3cret" not in error and "`cakupan warehouse setup`" in error


def test_the_docs_name_the_supported_versions():
    for doc in ("README.md", "docs/commands.md", "docs/configuration.md"):
        assert f"PostgreSQL {supported_postgres()}" in " ".join((PROJECT_ROOT / doc).read_text().split()), doc
