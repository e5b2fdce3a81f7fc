"""`dbt_vs_sql` for `make bench`: the nightly's `dbt build` (full refresh) against the very SQL it sent,
replayed through `psql -f` in one session.

The dbt side is the nightly's build (`nightly.build_marts`: into the candidate marts schema, as the
transformer role) with `--full-refresh`, timed from process start to exit, as a night pays it.

The SQL side is what that build executed for its nodes, in the order of `target/run_results.json`. dbt
writes only each node's main statement under `target/run/` (the `create table ... as`, a test's query), so
the statements come from the same run's debug log (`--log-format-file json`, one `SQLQuery` event per
statement): besides the main statements, the `__dbt_tmp` build, rename to `__dbt_backup`, swap and drop,
indexes, the `analyze` post-hooks, and the commits. Every `target/run/` file is checked to be among them.
What is left out is dbt's own bookkeeping: its relation-cache queries (`list_*`, `master` connections)
and the contract probes (`select ... where false limit 0` run to compare a model's columns with its
contract); PostgreSQL still enforces the contract's types and constraints in the replayed DDL. The seeds
(a few dozen rows of code lists) are left out too: dbt sends a seed's rows as bound parameters, which its log
shows only as placeholders, so the replay reads the seed tables as the dbt build before it left them.

Transactions are replayed as dbt's psycopg2 connections run them: each node on a fresh connection opens a
transaction at its first statement; a model commits explicitly, and what follows its COMMIT (the drop of
`__dbt_backup`) runs outside a transaction; a test's transaction is rolled back when its connection closes.

Both sides start from the same warehouse state: `publication.prepare_candidate` (a fresh candidate copied
from the published marts), as every night starts. Both leave it as dbt does: staging, intermediate and the
candidate rebuilt for the date (published `marts` untouched), so the next night or another measurement runs
as usual. The warehouse must hold the night's raw data, loaded and through the raw gate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from cakupan.platform import db
from cakupan.platform.warehouse import WarehouseError, psql_path
from cakupan.publish import publication
from cakupan.settings import Settings
from cakupan.transform.award_rubric import read_rubric, store_rubric
from cakupan.transform.dbt_runner import dbt_env, run_dbt

# The nightly's build (nightly.build_marts), rebuilding every model, and logging each statement as JSON.
DBT_BUILD = ["build", "--full-refresh", "--exclude-resource-type", "unit_test", "--log-format-file", "json"]

_QUERY_COMMENT = re.compile(r"^\s*/\*.*?\*/\s*", re.DOTALL)
# dbt names an index by a hash and creates it `if not exists`. Replayed right after a build, the name is
# taken (by the same index on the table the replay is about to replace), so PostgreSQL would skip it: the
# replay would build no index, and leave the warehouse without them for the next night. Each replay gives
# every index a name of its own (_fresh_index_names).
_INDEX_NAME = re.compile(r'(\bindex\s+if\s+not\s+exists\s+)"([0-9a-f]{32})"', re.IGNORECASE)


@dataclass
class DbtBuild:
    """One timed `dbt build` and what it sent to the warehouse."""

    seconds: float  # process start to exit
    command_seconds: float  # dbt's own clock: from after its imports to the end (CommandCompleted)
    execution_seconds: float  # running the nodes (run_results.json elapsed_time)
    nodes: int
    replay: str  # the nodes' statements as one psql script
    statements: int
    statement_seconds: float  # the replayed statements' time as dbt measured them
    bookkeeping_statements: int
    bookkeeping_seconds: float
    connections_opened: int
    threads: int


def measure_dbt_build(settings: Settings, snapshot_date: dt.date, repeats: int = 3,
                      progress: Callable[[str], None] = print) -> dict:
    """`dbt_vs_sql`: the nightly's full-refresh `dbt build` / the same SQL through `psql -f`, side by side.

    After an untimed warm-up build, each repeat runs both, starting with dbt, then alternating which goes
    first so neither always finds the warmer cache; psql replays the latest dbt run's statements. The
    ratio is the median of the per-repeat ratios. Raises if the two sides of a repeat leave different
    marts: then they did not do the same work."""
    # dbt's statements depend on what exists when it starts (it renames an existing relation aside, or
    # not): one build first, not timed, so that every run and replay starts with every relation in place,
    # as on any night after the first. It also warms the caches for both sides.
    progress("  warm-up: one dbt build, not timed ...")
    _timed_dbt_build(settings, snapshot_date)
    ratios, dbt_times, sql_times, builds = [], [], [], []
    for repeat in range(1, repeats + 1):
        order = ("dbt", "sql") if repeat % 2 else ("sql", "dbt")
        seconds, marts = {}, {}
        for side in order:
            if side == "dbt":
                builds.append(_timed_dbt_build(settings, snapshot_date))
                seconds["dbt"] = builds[-1].seconds
            else:
                seconds["sql"] = _timed_psql_replay(settings, snapshot_date, builds[-1].replay)
            marts[side] = marts_fingerprint(settings)
        if marts["dbt"] != marts["sql"]:
            differing = sorted(t for t in marts["dbt"].keys() | marts["sql"].keys()
                               if marts["dbt"].get(t) != marts["sql"].get(t))
            raise RuntimeError(f"The psql replay left other marts than dbt did: {', '.join(differing)}")
        ratios.append(seconds["dbt"] / seconds["sql"])
        dbt_times.append(seconds["dbt"])
        sql_times.append(seconds["sql"])
        progress(f"  repeat {repeat}/{repeats}: dbt build {seconds['dbt']:.1f} s, psql -f {seconds['sql']:.1f} s, "
                 f"ratio {ratios[-1]:.2f}")
    median = statistics.median
    dbt_seconds, sql_seconds = median(dbt_times), median(sql_times)
    nodes = builds[-1].nodes
    return {
        "dbt_vs_sql": round(median(ratios), 3),
        "dbt_seconds": round(dbt_seconds, 2),
        "sql_seconds": round(sql_seconds, 2),
        "nodes": nodes,
        "statements": builds[-1].statements,
        "repeats": repeats,
        "ratios": [round(r, 3) for r in ratios],
        "same_marts": True,  # checked on every repeat, else this raised
        "mart_tables": len(marts["dbt"]),
        # Where dbt's time goes, from its own clock and log (medians over the dbt runs): startup is Python
        # importing dbt; parse also counts filling the relation cache and writing the manifest.
        "dbt_startup_seconds": round(median(b.seconds - b.command_seconds for b in builds), 2),
        "dbt_parse_seconds": round(median(b.command_seconds - b.execution_seconds for b in builds), 2),
        "dbt_execution_seconds": round(median(b.execution_seconds for b in builds), 2),
        "dbt_statement_seconds": round(median(b.statement_seconds for b in builds), 2),
        "dbt_bookkeeping_queries": builds[-1].bookkeeping_statements,
        "dbt_bookkeeping_seconds": round(median(b.bookkeeping_seconds for b in builds), 2),
        "dbt_connections_opened": builds[-1].connections_opened,
        "dbt_threads": builds[-1].threads,
        "overhead_ms_per_node": round((dbt_seconds - sql_seconds) * 1000 / nodes, 1),
    }


def prepare_build(settings: Settings, snapshot_date: dt.date) -> None:
    """What nightly.build_marts does before dbt (the rubric in force stored, a fresh candidate schema), on a
    warehouse as quiet as every night finds it. Nights are a day apart, so by the next one PostgreSQL has
    vacuumed what the last build wrote and checkpointed; builds timed minutes apart would find either done or
    not, by chance. A full refresh writes every large table anew, and autovacuum then vacuums each of them
    beside whatever build came next (docs/decisions.md, change 18). After a checkpoint, the first change to a
    page writes the whole page to the WAL (docs/decisions.md, change 14)."""
    rubric = read_rubric(settings.award_rubric)
    with db.connect(settings, "setup") as conn:
        # A role that owns none of the tables only gets warnings: timed as it comes, like the checkpoint.
        conn.execute("VACUUM")
        # A server elsewhere whose setup role may not (superuser or pg_checkpoint): timed as it comes.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")
    with db.connect(settings, "transformer") as conn:
        store_rubric(conn, rubric)
        publication.prepare_candidate(conn, snapshot_date)


def marts_fingerprint(settings: Settings, snapshot_date: dt.date | None = None
                      ) -> dict[str, tuple[int, str]]:
    """Rows and an order-independent digest of every candidate mart (marts hold no floating point); with
    `snapshot_date`, only that date's rows of the daily marts (those with a snapshot_date column)."""
    with db.connect(settings, "transformer") as conn:
        tables = conn.execute(
            "SELECT table_name, bool_or(column_name = 'snapshot_date') FROM information_schema.columns"
            " WHERE table_schema = %(schema)s"
            " AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = %(schema)s)"
            " GROUP BY table_name ORDER BY table_name", {"schema": publication.CANDIDATE}).fetchall()
        fingerprints = {}
        for table, daily in tables:
            by_date = daily and snapshot_date is not None
            fingerprints[table] = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                f"FROM {publication.CANDIDATE}.{table} AS t" + (" WHERE snapshot_date = %s" if by_date else ""),
                (snapshot_date,) if by_date else None).fetchone()
        return fingerprints


def _target(settings: Settings) -> Path:
    return settings.home / "dbt" / "target"  # run_dbt's --target-path


def _timed_dbt_build(settings: Settings, snapshot_date: dt.date) -> DbtBuild:
    prepare_build(settings, snapshot_date)
    started = time.perf_counter()
    run_dbt(settings, DBT_BUILD, snapshot_date, log=lambda _: None,
            extra_vars={"marts_schema": publication.CANDIDATE}, file_log_level="debug")
    seconds = time.perf_counter() - started
    return _read_build(settings, seconds)


def _read_build(settings: Settings, seconds: float) -> DbtBuild:
    """The statements the build just run sent, per node in run_results order, from its JSON debug log."""
    run_results = json.loads((_target(settings) / "run_results.json").read_text())
    manifest = json.loads((_target(settings) / "manifest.json").read_text())
    invocation = run_results["metadata"]["invocation_id"]
    order = [result["unique_id"] for result in run_results["results"]]
    nodes = set(order)

    per_node: dict[str, list[str]] = defaultdict(list)
    statement_seconds = bookkeeping_seconds = 0.0
    bookkeeping = connections = 0
    command_seconds, threads = 0.0, 0
    pending: dict[str, tuple[str, str]] = {}  # thread -> (connection, sql) awaiting its status
    for event in _log_events(settings, invocation):
        name, data = event["info"]["name"], event["data"]
        if name == "SQLQuery":
            pending[event["info"]["thread"]] = (data["conn_name"], data["sql"])
        elif name == "SQLQueryStatus":
            connection, sql = pending.pop(event["info"]["thread"])
            elapsed = float(data.get("elapsed") or 0)
            if connection in nodes and not _is_bookkeeping(connection, sql):
                per_node[connection].append(sql)
                statement_seconds += elapsed
            else:
                bookkeeping += 1
                bookkeeping_seconds += elapsed
        elif name == "NewConnectionOpening":
            connections += 1
        elif name == "CommandCompleted":
            command_seconds = float(data["elapsed"])
        elif name == "ConcurrencyLine":
            threads = int(data["num_threads"])

    replayed = [node for node in order if not node.startswith("seed.")]
    _check_run_files_are_replayed(manifest, replayed, per_node)
    script = "\n".join(_node_script(per_node[node]) for node in replayed if per_node[node])
    return DbtBuild(seconds=seconds, command_seconds=command_seconds,
                    execution_seconds=float(run_results["elapsed_time"]), nodes=len(order), replay=script,
                    statements=sum(len(s) for s in per_node.values()), statement_seconds=statement_seconds,
                    bookkeeping_statements=bookkeeping, bookkeeping_seconds=bookkeeping_seconds,
                    connections_opened=connections, threads=threads)


def _log_events(settings: Settings, invocation: str):
    """This invocation's events from dbt.log and its rotated predecessors (dbt rotates at 10 MB)."""
    logs = settings.home / "dbt" / "logs"
    for path in sorted(logs.glob("dbt.log*"), key=lambda p: p.stat().st_mtime):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if invocation in line and line.startswith("{"):
                    event = json.loads(line)
                    if event["info"].get("invocation_id") == invocation:
                        yield event


def _is_bookkeeping(connection: str, sql: str) -> bool:
    """dbt's own metadata work rather than the build's: a contract probe on a model's connection."""
    body = _QUERY_COMMENT.sub("", sql)
    return connection.startswith("model.") and body.lower().startswith("select") and "__dbt_sbq" in body


def _node_script(statements: list[str]) -> str:
    """A node's statements as its psycopg2 connection ran them: psycopg2 begins a transaction before the
    first; a manual COMMIT ends it and psycopg2, not noticing, sends no new BEGIN, so what follows runs in
    autocommit; a connection closed inside its transaction (a test's) rolls back."""
    lines = ["BEGIN;"]
    committed = False
    for sql in statements:
        lines.append(sql.rstrip().rstrip(";") + "\n;")
        committed = committed or _QUERY_COMMENT.sub("", sql).strip().upper() == "COMMIT"
    if not committed:
        lines.append("ROLLBACK;")
    return "\n".join(lines)


def _check_run_files_are_replayed(manifest: dict, order: list[str], per_node: dict[str, list[str]]) -> None:
    """The main statement dbt wrote under target/run/ for each node is one the replay runs."""
    for node in order:
        build_path = manifest["nodes"].get(node, {}).get("build_path")
        if not build_path or not Path(build_path).is_file():
            continue
        main = Path(build_path).read_text().strip()
        if not any(main in sql for sql in per_node[node]):
            raise RuntimeError(f"{node}: its target/run statement is not among the statements dbt logged.")


def _fresh_index_names(script: str) -> str:
    """`script` with each of dbt's hashed index names hashed again with a salt of this replay."""
    salt = uuid.uuid4().hex
    return _INDEX_NAME.sub(
        lambda m: f'{m.group(1)}"{hashlib.md5((salt + m.group(2)).encode()).hexdigest()}"', script)


def _timed_psql_replay(settings: Settings, snapshot_date: dt.date, script: str) -> float:
    prepare_build(settings, snapshot_date)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="dbt-replay-", delete=False) as handle:
        handle.write(_fresh_index_names(script))
    env = {**os.environ, **_libpq_env(settings)}
    command = [_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", handle.name]
    try:
        started = time.perf_counter()
        result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - started
    finally:
        os.unlink(handle.name)
    if result.returncode != 0:
        raise RuntimeError(f"psql replay of the dbt build failed:\n{result.stderr[-4000:]}")
    return seconds


def _libpq_env(settings: Settings) -> dict[str, str]:
    """The transformer's connection and session options, as dbt gets them, for psql (no password on its
    command line)."""
    dbt = dbt_env(settings)
    return {"PGHOST": dbt["CAKUPAN_DB_HOST"], "PGPORT": dbt["CAKUPAN_DB_PORT"], "PGUSER": dbt["CAKUPAN_DB_USER"],
            "PGPASSWORD": dbt["CAKUPAN_DB_PASSWORD"], "PGDATABASE": dbt["CAKUPAN_DB_NAME"],
            "PGOPTIONS": dbt["PGOPTIONS"]}


def _psql() -> str:
    """The psql of the embedded PostgreSQL (the server's own version), else one on PATH."""
    try:
        bundled = psql_path()
    except WarehouseError:  # no embedded PostgreSQL installed: a server elsewhere
        bundled = None
    return str(bundled) if bundled and bundled.is_file() else (shutil.which("psql") or "psql")
