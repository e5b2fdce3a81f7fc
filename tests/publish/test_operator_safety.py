"""What keeps an operator out of trouble: dates a night refuses, a night cut short that says what to do, a bad
delivery withdrawn, the BI role kept in its place, no password or state file shown to whoever looks."""

from __future__ import annotations

import csv
import datetime as dt
import os
import pwd
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from cakupan.cli import DEMO_KEY_FILE, main as cakupan
from cakupan.orchestration.airflow_support import common_dag_arguments
from cakupan.orchestration.dag_run import first_runnable_date, logical_date_for, refusal
from cakupan.platform import db, roles
from cakupan.platform.state_folder import make_private, make_private_file
from cakupan.platform.warehouse import SYSTEM_USER, embedded, role_password, warehouse_url
from cakupan.publish import night_lease
from delivery_builder import write_delivery
from published_marts import fingerprint


def _cli(*arguments: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cakupan.cli", *arguments], capture_output=True, text=True,
                          timeout=timeout, env=env or os.environ.copy())


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("cakupan: error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    return lines[-1]


# --- Refused dates -------------------------------------------------------------------------------------------

def test_dates_the_dag_would_skip_or_no_branch_has_exported_are_refused_before_anything_is_read(settings, tmp_path):
    # Nothing is read: the landing root does not even exist, and no run of Airflow is recorded.
    env = {**os.environ, "CAKUPAN_LANDING_ROOT": str(tmp_path / "no-landing")}
    runs_before = set((settings.home / "runs").glob("*")) if (settings.home / "runs").is_dir() else set()
    tomorrow_but_one = dt.date.today() + dt.timedelta(days=3)
    for arguments, says in (
        (("run", "--date", "1900-01-01"), "--date 1900-01-01 is before 2000-01-01"),
        (("run", "--date", tomorrow_but_one.isoformat()), "more than one day after today"),
        (("backfill", "--start", "1999-12-01", "--end", "2000-01-05"), "--start 1999-12-01 is before"),
        (("backfill", "--start", "2026-11-20", "--end", tomorrow_but_one.isoformat()), f"--end {tomorrow_but_one}"),
    ):
        line = _one_error_line(_cli(*arguments, env=env))
        assert says in line and "Give a date" in line, line
    assert (set((settings.home / "runs").glob("*")) if (settings.home / "runs").is_dir() else set()) == runs_before

    # The first date is the DAG's own start_date (the night of 2000-01-01 runs at 01:00 on the 2nd), so a 2025
    # backfill runs; "today" is in WIB: at 00:30 WIB on 7 December (17:30 UTC on the 6th) tomorrow is the 8th.
    start = common_dag_arguments()["start_date"]
    first = first_runnable_date()
    assert logical_date_for(first) >= start > logical_date_for(first - dt.timedelta(days=1))
    assert refusal(dt.date(2025, 12, 15)) is None
    half_past_midnight_wib = dt.datetime(2026, 12, 6, 17, 30, tzinfo=dt.UTC)
    assert refusal(dt.date(2026, 12, 8), now=half_past_midnight_wib) is None
    assert refusal(dt.date(2026, 12, 9), now=half_past_midnight_wib) is not None


# --- Passwords ----------------------------------------------------------------------------------------------

def test_no_command_prints_a_password_unless_asked(settings):
    if not settings.embedded:
        pytest.skip("the embedded warehouse's commands")
    admin_secret = role_password(settings, "admin")
    bi_secret = role_password(settings, "bi")
    for arguments in (("warehouse", "status"), ("warehouse", "url"), ("warehouse", "start"),
                      ("warehouse", "url", "--role", "bi")):
        printed = _cli(*arguments).stdout
        assert ":***@127.0.0.1:" in printed and admin_secret not in printed and bi_secret not in printed, arguments
    shown = _cli("warehouse", "url", "--role", "bi", "--show-password").stdout.strip()
    with psycopg.connect(shown) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("cakupan_bi",)


# --- The state folder ---------------------------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_folder_is_private_and_the_server_still_reaches_its_files(settings):
    if not settings.embedded:
        pytest.skip("the embedded warehouse's folder")
    server = embedded(settings)
    assert _mode(settings.home) == 0o700 and _mode(server.state_dir) == 0o700
    assert server.log_file.parent == server.state_dir and _mode(server.log_file) == 0o600
    if os.geteuid() == 0:
        # Under root the server runs as the system user: it owns the home and its folder, and walks through them.
        account = pwd.getpwnam(SYSTEM_USER).pw_uid
        assert settings.home.stat().st_uid == server.state_dir.stat().st_uid == server.log_file.stat().st_uid == account
    assert server.is_running()  # pg_ctl, as the server's account, found the server through the private folders


def test_a_state_folder_is_made_private_when_ours_and_left_alone_when_not(tmp_path):
    """The layout a normal user gets (no system user: their own folders, 0700). Running a second server as
    another user is not possible here: the virtualenv's Python lives under root's home, which only root enters."""
    created = make_private(tmp_path / "new" / "home")
    assert _mode(created) == 0o700 and created.stat().st_uid == os.geteuid()
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert _mode(make_private(loose)) == 0o700
    log = make_private_file(loose / "postgresql.log")
    assert _mode(log) == 0o600
    if os.geteuid() == 0:  # a folder someone else owns keeps the mode its owner gave it
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o755)
        theirs.chmod(0o755)
        os.chown(theirs, pwd.getpwnam("nobody").pw_uid, -1)
        assert _mode(make_private(theirs)) == 0o755


# --- The BI role --------------------------------------------------------------------------------------------

def test_bi_can_neither_take_the_nights_connections_nor_create_temporary_tables(settings):
    with db.connect(settings, "setup") as conn:
        limit = conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'cakupan_bi'").fetchone()[0]
        assert limit == roles.bi_connection_limit(conn, settings) > 0
        slots = int(conn.execute("SHOW max_connections").fetchone()[0])
        reserved = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
        assert limit + roles.night_connections(settings) + reserved <= slots
        held = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'cakupan_bi'").fetchone()[0]
    bi_url = warehouse_url(settings, "bi")
    sessions = []
    try:
        for _ in range(limit - held):
            sessions.append(psycopg.connect(bi_url))
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(bi_url)
        # Every BI slot taken, and the night's roles still connect.
        for role in ("loader", "transformer", "admin"):
            with db.connect(settings, role) as night:
                night.execute("SELECT 1")
    finally:
        for session in sessions:
            session.close()

    # Not in the warehouse's database, nor in any other database of the server it may connect to. Its sessions
    # start read-only, but a session may turn that off for itself: only the missing privilege stops it.
    databases = [bi_url] + ([make_conninfo(bi_url, dbname="postgres")] if settings.embedded else [])
    for url in databases:
        with psycopg.connect(url, autocommit=True) as bi:
            assert bi.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
            bi.execute("SET default_transaction_read_only = off")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute("CREATE TEMPORARY TABLE bi_scratch (x int)")
    if settings.embedded:
        with db.connect(settings, "setup") as conn:
            assert not conn.execute("SELECT bool_or(has_database_privilege('public', datname, 'TEMPORARY')) "
                                    "FROM pg_database WHERE datallowconn").fetchone()[0]
    with db.connect(settings, "loader") as loader:  # the roles that need temporary tables keep them
        loader.execute("CREATE TEMPORARY TABLE loader_scratch (x int)")


# --- A night cut short --------------------------------------------------------------------------------------

def _assert_the_lease_frees_itself(settings) -> None:
    """The night ran in the command's process; with that process gone, the next night takes its lease at once."""
    with db.connect(settings, "setup") as conn:
        lease = night_lease.current(conn)
        assert lease is None or lease.abandoned, lease.describe()


@pytest.mark.slow
def test_a_warehouse_crash_mid_night_ends_with_one_line_that_says_what_to_do(small_night):
    settings = small_night
    if not settings.embedded:
        pytest.skip("a server elsewhere is not ours to crash")
    server = embedded(settings)
    night = subprocess.Popen([sys.executable, "-m", "cakupan.cli", "run", "--date", "2026-11-20"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    printed: list[str] = []
    building = threading.Event()

    def follow() -> None:
        for line in night.stdout:
            printed.append(line)
            if "Candidate marts prepared" in line:  # the next thing the night does is dbt's build
                building.set()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        assert building.wait(timeout=180), "".join(printed)[-3000:]
        started = time.monotonic()
        assert server.stop(crash=True)
        _, error = night.communicate(timeout=120)
        assert time.monotonic() - started < 120
        follower.join(timeout=10)
        result = subprocess.CompletedProcess(night.args, night.returncode, "".join(printed), error)
        line = _one_error_line(result)
        assert line.startswith("cakupan: error: the warehouse stopped answering during task dbt_build "
                               "of the night of 2026-11-20; start it with `cakupan warehouse start` and run "
                               "`cakupan run --date 2026-11-20` again"), line
        assert len(error.strip().splitlines()) == 1, error
        # Airflow's long log went to a file of the state folder, only its owner's to read.
        log = Path(line.rsplit("Airflow's log of the night: ", 1)[1].rstrip(").").rstrip(")"))
        assert log.parent == settings.home / "runs" and _mode(log) == 0o600
        assert "Traceback" in log.read_text()
    finally:
        if night.poll() is None:
            night.kill()
        server.start()
        roles.setup(settings)
    _assert_the_lease_frees_itself(settings)


# --- Withdrawing a bad delivery -----------------------------------------------------------------------------

def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_a_withdrawn_delivery_counts_as_if_it_had_never_come(small_night, empty_warehouse, monkeypatch, capsys):
    conn, settings = empty_warehouse, small_night
    landing = settings.landing_root
    # No key set, and the one `make run` made is in the state folder: the nights use it and say so.
    session_key = os.environ["CAKUPAN_PII_KEY"]  # the session's (tests/conftest.py), as every other night's
    monkeypatch.delenv("CAKUPAN_PII_KEY")
    demo_key = settings.home / DEMO_KEY_FILE
    demo_key.write_text(session_key)
    try:
        assert cakupan(["backfill", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0, capsys.readouterr().err
        assert f"using the demo's pseudonymisation key in {demo_key}" in capsys.readouterr().out
        never_saw_it = fingerprint(conn)

        # SAWAHLUNTO's bad delivery of the 21st: two participants in another village, and a payment.
        good = landing / "SAWAHLUNTO" / "2026-11-20"
        peserta = _rows(good, "peserta.csv")
        for row in peserta[:2]:
            row["kode_desa"] = "13.73.01.1002"
        payment = {**_rows(good, "iuran.csv")[0], "id_transaksi": "SWL-20261121-1", "tanggal_bayar": "2026-11-21"}
        write_delivery(landing, "SAWAHLUNTO", "2026-11-21", peserta, [payment], peserta_header=list(peserta[0]))
        assert cakupan(["run", "--date", "2026-11-21"]) == 0, capsys.readouterr().err
        assert fingerprint(conn) != never_saw_it  # it was published
        capsys.readouterr()

        assert cakupan(["delivery", "withdraw", "SAWAHLUNTO", "2026-11-21", "--reason", "wrong office's export"]) == 0
        said = capsys.readouterr().out
        assert "SAWAHLUNTO's snapshot is its delivery of 2026-11-20 again" in said
        assert "`cakupan backfill --start 2026-11-21 --end 2026-11-21`" in said
        # Kept in the audit trail, out of raw.
        assert conn.execute("SELECT file_name, status FROM audit.file_loads WHERE kode_cabang = 'SAWAHLUNTO' "
                            "AND export_date = '2026-11-21' ORDER BY 1").fetchall() == \
            [("iuran.csv", "withdrawn"), ("peserta.csv", "withdrawn")]
        assert conn.execute("SELECT kode_cabang, export_date, files, reason, withdrawn_by <> '' FROM audit.withdrawals"
                            ).fetchall() == [("SAWAHLUNTO", dt.date(2026, 11, 21), ["iuran.csv", "peserta.csv"],
                                              "wrong office's export", True)]
        assert conn.execute("SELECT count(*) FROM raw.deliveries WHERE kode_cabang = 'SAWAHLUNTO' "
                            "AND export_date = '2026-11-21'").fetchone() == (0,)
        # Withdrawn once: a second time says there is nothing left to withdraw.
        assert cakupan(["delivery", "withdraw", "SAWAHLUNTO", "2026-11-21"]) == 1
        assert "nothing to withdraw" in capsys.readouterr().err

        assert cakupan(["backfill", "--start", "2026-11-21", "--end", "2026-11-21"]) == 0, capsys.readouterr().err
        assert fingerprint(conn) == never_saw_it
        # Its folder was not read again.
        assert conn.execute("SELECT count(*), bool_and(status = 'withdrawn') FROM audit.file_loads "
                            "WHERE kode_cabang = 'SAWAHLUNTO' AND export_date = '2026-11-21'").fetchone() == (2, True)
    finally:
        demo_key.unlink(missing_ok=True)
        conn.execute("TRUNCATE audit.withdrawals")


def test_without_any_key_the_error_says_how_to_set_one(settings, monkeypatch):
    env = {key: value for key, value in os.environ.items() if key != "CAKUPAN_PII_KEY"}
    assert not (settings.home / DEMO_KEY_FILE).exists()
    line = _one_error_line(_cli("run", "--date", "2026-11-20", env=env))
    assert "export CAKUPAN_PII_KEY=" in line and str(settings.home / DEMO_KEY_FILE) in line
