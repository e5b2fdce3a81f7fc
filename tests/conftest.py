"""Test session: a real embedded PostgreSQL under .cakupan/test, the real region reference, a test PII key.

Every test runs against real PostgreSQL, dbt, Great Expectations and Airflow; nothing is mocked.
Set CAKUPAN_WAREHOUSE_URL to run the suite against another server (its `cakupan` data is replaced), or
CAKUPAN_TEST_POSTGRES to a major version to run it against a server of that version that the session starts
and stops (tests/postgres_versions.py; `make test` runs the night so on every supported version).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_POSTGRES = int(os.environ["CAKUPAN_TEST_POSTGRES"]) if os.environ.get("CAKUPAN_TEST_POSTGRES") else None
# CAKUPAN_TEST_HOME lets two suites run at once on one machine, each with its own warehouse.
TEST_HOME = Path(os.environ.get("CAKUPAN_TEST_HOME")
                 or PROJECT_ROOT / ".cakupan" / (f"test-postgres{TEST_POSTGRES}" if TEST_POSTGRES else "test"))
# `make test` runs the suite in a process per core (pytest-xdist's gw0, gw1, ...): each its own test home, so its
# own embedded warehouse and Airflow metadata, and no test sees another's nights.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    TEST_HOME = TEST_HOME.with_name(f"{TEST_HOME.name}-{XDIST_WORKER}")
TEST_PII_KEY = "cakupan-test-key-not-a-secret"


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) and not XDIST_WORKER:
        return  # pytest-xdist's controller: it runs no test, its workers each set up their own
    if XDIST_WORKER and os.environ.get("CAKUPAN_WAREHOUSE_URL"):
        raise pytest.UsageError("CAKUPAN_WAREHOUSE_URL is one server for every process: run the suite without -n.")
    os.environ["CAKUPAN_HOME"] = str(TEST_HOME)
    os.environ.setdefault("CAKUPAN_CACHE_DIR", str(PROJECT_ROOT / ".cakupan" / "cache"))
    os.environ["CAKUPAN_PII_KEY"] = TEST_PII_KEY
    os.environ["CAKUPAN_TASK_RETRIES"] = "0"
    for variable in ("CAKUPAN_LANDING_ROOT", "CAKUPAN_REFERENCE_ROOT", "CAKUPAN_DOCS_DIR", "CAKUPAN_REPORTS_ROOT",
                     "AIRFLOW_HOME", "CAKUPAN_VULNERABLE_TARGET"):
        os.environ.pop(variable, None)

    from cakupan.platform import roles
    from cakupan.platform.airflow_env import configure_airflow, migrate_metadata_database
    from cakupan.platform.warehouse import embedded
    from cakupan.settings import load_settings

    if TEST_POSTGRES:
        if os.environ.get("CAKUPAN_WAREHOUSE_URL"):
            raise pytest.UsageError("Set CAKUPAN_TEST_POSTGRES or CAKUPAN_WAREHOUSE_URL, not both.")
        from postgres_versions import start_server

        start_server(TEST_POSTGRES, TEST_HOME)
    settings = load_settings()
    if settings.embedded:
        embedded(settings).start()
    roles.setup(settings)
    # Airflow reads its configuration at import: point it at the test home before any test imports it.
    configure_airflow(settings)
    migrate_metadata_database(settings)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A session on a server by URL never starts an embedded one: whatever did would have been tested on it.
    if TEST_POSTGRES and (TEST_HOME / "warehouse").exists():
        print(f"\nAn embedded warehouse was started in {TEST_HOME / 'warehouse'} by a session on a server by URL.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    if TEST_POSTGRES:
        from postgres_versions import stop_server

        stop_server(TEST_POSTGRES, TEST_HOME)


@pytest.fixture(scope="session")
def settings():
    from cakupan.platform import db
    from cakupan.reference.loader import load_regions
    from cakupan.settings import load_settings

    settings = load_settings()  # the schema is in place: pytest_configure ran roles.setup
    with db.connect(settings, "setup") as conn:
        load_regions(conn, settings.cache_dir, progress=lambda _: None)
    return settings


@pytest.fixture
def conn(settings):
    from cakupan.platform import db

    with db.connect(settings, "setup") as connection:
        yield connection


@pytest.fixture
def empty_warehouse(conn):
    """raw, audit and every dbt schema emptied; the region reference kept."""
    from warehouse_reset import empty

    return empty(conn)


@pytest.fixture
def loader(settings, empty_warehouse):
    """A connection as the loader role, to an emptied warehouse."""
    from cakupan.platform import db

    with db.connect(settings, "loader") as connection:
        yield connection


SMALL_NIGHT = Path(__file__).parent / "fixtures" / "small_night"


@pytest.fixture
def small_night(empty_warehouse, tmp_path, monkeypatch):
    """The hand-built night (tests/fixtures/small_night) in a scratch landing folder, its reference loaded."""
    import shutil

    from cakupan.reference.loader import load_reference
    from cakupan.settings import load_settings

    landing = tmp_path / "landing"
    shutil.copytree(SMALL_NIGHT / "landing", landing)
    monkeypatch.setenv("CAKUPAN_LANDING_ROOT", str(landing))
    monkeypatch.setenv("CAKUPAN_REFERENCE_ROOT", str(SMALL_NIGHT / "reference"))
    monkeypatch.setenv("CAKUPAN_DOCS_DIR", str(tmp_path / "docs"))
    monkeypatch.setenv("CAKUPAN_REPORTS_ROOT", str(tmp_path / "reports"))
    monkeypatch.setenv("CAKUPAN_VULNERABLE_TARGET", "3")
    settings = load_settings()
    load_reference(empty_warehouse, settings, progress=lambda _: None)
    return settings


@pytest.fixture
def night(small_night, monkeypatch):
    """The small night with its own award rubric: the night whose figures were worked out by hand."""
    from small_night_figures import FIXTURE, expected

    assert small_night.vulnerable_target == expected.VULNERABLE_TARGET
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(FIXTURE / "rubric.yml"))
    return small_night
