"""The embedded warehouse through the CLI: its URL works in psql, and CAKUPAN_WAREHOUSE_URL overrides it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cakupan.cli import main as cakupan
from cakupan.platform.warehouse import psql_path, shared_buffers_mib


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
    assert cakupan(["warehouse", "url", "--role", "loader"]) == 1
    assert "set CAKUPAN_LOADER_PASSWORD" in capsys.readouterr().err


def test_shared_buffers_are_a_quarter_of_the_memory():
    assert shared_buffers_mib(24 * 2**30) == 6144
    assert shared_buffers_mib(256 * 2**20) == 128  # PostgreSQL's default, the least it gets
