"""Load one branch delivery into `raw`, atomically, with every row either loaded or quarantined.

Per delivery, in ONE transaction: each file streams through the DuckDB `judge` (row rules, NIK replaced by
its keyed hash) straight into PostgreSQL's COPY: rows that pass go to `raw.peserta` (or a staging table for
`raw.iuran`) in COPY's binary format, rows that break a rule are spooled to disk and copied to a quarantine
table. The one rule that needs the whole file (a KPJ or a payment twice) then runs in PostgreSQL, the
quarantine is published to `audit.rejected_rows`, an earlier delivery of the same branch and date is
replaced, and `audit.file_loads` is written. A process killed mid-file leaves nothing behind: the
transaction never commits.

Files DuckDB's strict CSV reader takes (UTF-8, every row the header's width) go the fast path; anything
else (Windows-1252, XLSX, NUL bytes, ragged rows) is read by the careful Python reader and judged the same.

A bad delivery ends as a rejection (contract section 7): its branch unknown to the reference
(`branch_unknown`), anything check_delivery finds, a file that cannot be read (`FileRejected`), or a
participants file of which no row is accepted (`no_usable_rows`). Only what is not the delivery's fault
fails: the warehouse out of reach (psycopg.OperationalError), the machine's disk (OSError), DuckDB failing
on rows the careful reader produced. No error text that could quote a file's line reaches PostgreSQL (it
logs what a failed COPY says) or the loader's log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import IO

import duckdb
import numpy as np
import pgpq
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from cakupan.ingest import judge as judging, row_rules
from cakupan.ingest.judge import Judge
from cakupan.ingest.landing import BRANCH_CODE, CheckedFile, Delivery, Problem, check_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
from cakupan.ingest.readers import FileRejected, as_batches, csv_layout, open_table

_PROGRESS_EVERY = 250_000

# A delivery of a branch not (yet) in reference.branches is recorded under its fingerprint with this suffix:
# find_exports, which skips the fingerprints audit.file_loads holds, then lists the folder again every night,
# and it loads once the reference lists its branch (section 7.3). Until then, load_delivery sees the suffixed
# fingerprint and records nothing more.
BRANCH_UNKNOWN_SUFFIX = ":branch_unknown"


class CopyAborted(Exception):
    """Leaves a COPY block in place of the error that stopped it. psycopg ends the COPY with the text of the
    exception leaving its block, which PostgreSQL writes to its server log; DuckDB's and the readers' errors
    can quote a line of the file (a NIK, a name), so PostgreSQL is told only this."""

    def __init__(self) -> None:
        super().__init__("COPY stopped by the Cakupan loader (the cause is in the task log)")


class JudgeFailed(RuntimeError):
    """DuckDB failed on rows the careful reader had already read: not the file's fault (memory, disk or a bug).
    Its own message can quote the rows, so only its kind is kept."""

Progress = Callable[[str], None]


@dataclass
class FileOutcome:
    file_name: str
    status: str
    sha256: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    reason: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0  # loading this file, from opening it to its rows in `raw` and `audit`
    manifest_rows: int | None = None  # what the manifest promised, for the raw gate to reconcile


@dataclass
class DeliveryOutcome:
    label: str
    kode_cabang: str
    export_date: dt.date | None
    status: str  # loaded | rejected | duplicate | already_seen
    delivery_id: int | None = None
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def _whole_file_reason(rules: tuple[row_rules.RowRule, ...]) -> str:
    return row_rules.whole_file_rule(rules)[1].reason


@dataclass(frozen=True)
class _Destination:
    rules: judging.TableRules
    copy_into: str  # the table the judge's accepted rows are COPYed into
    prepare_sql: str
    whole_file_sql: str  # applies the whole-file rule; its INSERT's row count = accepted rows it moved out
    publish_sql: str | None  # from the staging table to `raw`, when there is one
    # True when the whole-file rule may have something to do; a cheap test that spares the usual clean file
    # the full statement, a hash aggregate far dearer than a sort-based count(DISTINCT) (docs/benchmark-notes.md).
    worth_checking_sql: str = "SELECT true"
    # Keys in strictly ascending file order cannot repeat: the rule then has nothing to do, unasked.
    ascending_keys_suffice: bool = False
    # Run before the whole-file rule: without statistics a temporary table looks big, and the planner read
    # all of raw.iuran for every delivery's handful of payments instead of probing its index (docs/decisions.md).
    statistics_sql: str | None = None


_QUARANTINE = """
    DROP TABLE IF EXISTS pg_temp.quarantine;
    CREATE TEMP TABLE quarantine (row_number integer, rule_index integer, kpj text, duplicate_key text,
                                  reason text) ON COMMIT DROP;
"""

# The KPJs the duplicate rule counts: every row with a well-formed KPJ, accepted or quarantined for a
# later rule (all rows sharing a KPJ go).
_PESERTA_KEYS = """
    SELECT kpj FROM raw.peserta WHERE delivery_id = %(delivery_id)s
    UNION ALL
    SELECT duplicate_key FROM quarantine WHERE rule_index > %(rule_index)s
"""

PESERTA = _Destination(
    judging.PESERTA,
    copy_into="raw.peserta",
    prepare_sql=_QUARANTINE,
    whole_file_sql=f"""
        WITH keys AS ({_PESERTA_KEYS}), repeated AS (
            SELECT kpj, count(*) AS kpj_rows FROM keys GROUP BY kpj HAVING count(*) > 1
        ), moved AS (
            DELETE FROM raw.peserta p USING repeated r
            WHERE p.delivery_id = %(delivery_id)s AND p.kpj = r.kpj
            RETURNING p.row_number, p.kpj
        ), relabelled AS (
            UPDATE quarantine q SET rule_index = %(rule_index)s, reason = {_whole_file_reason(row_rules.PESERTA_RULES)}
            FROM (SELECT kpj AS repeated_kpj, kpj_rows FROM repeated) r
            WHERE q.rule_index > %(rule_index)s AND q.duplicate_key = r.repeated_kpj
        )
        INSERT INTO quarantine (row_number, rule_index, kpj, duplicate_key, reason)
        SELECT row_number, %(rule_index)s, kpj, kpj, {_whole_file_reason(row_rules.PESERTA_RULES)}
        FROM moved JOIN repeated USING (kpj)
    """,
    publish_sql=None,
    worth_checking_sql=f"SELECT count(*) > count(DISTINCT kpj) FROM ({_PESERTA_KEYS}) keys",
    ascending_keys_suffice=True,
)

IURAN = _Destination(
    judging.IURAN,
    copy_into="accepted_iuran",
    prepare_sql=_QUARANTINE + """
        DROP TABLE IF EXISTS pg_temp.accepted_iuran;
        CREATE TEMP TABLE accepted_iuran (LIKE raw.iuran) ON COMMIT DROP;
    """,
    # The first payment with an id wins; later ones, and ids already loaded from earlier exports, are duplicates.
    # Earlier exports are probed one id at a time through the index (LATERAL ... LIMIT 1): as an EXISTS, the
    # planner hashed all of raw.iuran for a large delivery, a read that grows with every night kept
    # (docs/decisions.md, change 30).
    whole_file_sql=f"""
        WITH keyed AS (
            SELECT row_number, id_transaksi AS key, true AS accepted FROM accepted_iuran
            UNION ALL
            SELECT row_number, duplicate_key, false FROM quarantine WHERE rule_index > %(rule_index)s
        ), duplicates AS (
            SELECT * FROM (
                SELECT row_number, key AS id_transaksi, accepted,
                       row_number() OVER (PARTITION BY key ORDER BY row_number) > 1 AS earlier_in_file,
                       earlier.id_transaksi IS NOT NULL AS seen_before
                FROM keyed LEFT JOIN LATERAL (
                    SELECT r.id_transaksi FROM raw.iuran r WHERE r.id_transaksi = keyed.key LIMIT 1
                ) earlier ON true
            ) ranked WHERE earlier_in_file OR seen_before
        ), moved AS (
            DELETE FROM accepted_iuran a USING duplicates d
            WHERE d.accepted AND a.row_number = d.row_number
            RETURNING a.row_number, a.kpj
        ), relabelled AS (
            UPDATE quarantine q SET rule_index = %(rule_index)s, reason = {_whole_file_reason(row_rules.IURAN_RULES)}
            FROM (SELECT row_number AS duplicate_row, id_transaksi, earlier_in_file FROM duplicates
                  WHERE NOT accepted) d
            WHERE q.row_number = d.duplicate_row
        )
        INSERT INTO quarantine (row_number, rule_index, kpj, duplicate_key, reason)
        SELECT row_number, %(rule_index)s, kpj, id_transaksi, {_whole_file_reason(row_rules.IURAN_RULES)}
        FROM moved JOIN duplicates USING (row_number)
    """,
    publish_sql="INSERT INTO raw.iuran SELECT * FROM accepted_iuran",
    statistics_sql="ANALYZE accepted_iuran, quarantine",
)

DESTINATIONS = {"peserta": PESERTA, "iuran": IURAN}


def _contiguous_bytes(lines: pa.Array) -> memoryview:
    """The quarantine's COPY payload of a batch: its lines' bytes, already laid end to end by Arrow."""
    if len(lines) == 0:
        return memoryview(b"")
    if not (pa.types.is_string(lines.type) or pa.types.is_large_string(lines.type)):
        lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if pa.types.is_large_string(lines.type) else np.int32)
    return memoryview(lines.buffers()[2])[offsets[lines.offset]:offsets[lines.offset + len(lines)]]


def _ahead(streams: list[Iterator[pa.RecordBatch]], depth: int = 2) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(stream index, batch) from every stream, each computed in its own thread while the caller writes
    earlier batches to COPY.

    Without it the two alternate: a batch is larger than the socket's buffer, so writing it waits for
    PostgreSQL to take nearly all of it, and PostgreSQL then idles while DuckDB judges the next. At most
    `depth` batches a stream wait in between, so memory stays bounded."""
    handoff: queue.Queue = queue.Queue(maxsize=depth * len(streams))
    stop = threading.Event()
    finished = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(index: int, batches: Iterator[pa.RecordBatch]) -> None:
        try:
            for batch in batches:
                if not offer((index, batch)):
                    return
            offer(finished)
        except BaseException as error:  # handed to the consumer, which raises it as its own
            offer(error)

    producers = [threading.Thread(target=produce, args=(i, s), name=f"cakupan-judge-{i}", daemon=True)
                 for i, s in enumerate(streams)]
    for producer in producers:
        producer.start()
    try:
        running = len(producers)
        while running:
            item = handoff.get()
            if item is finished:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        for producer in producers:
            producer.join()


class _AscendingKeys:
    """Whether the whole-file rule's keys came in strictly ascending order (as exports sorted by KPJ do).
    Safe in any output order: every key is seen once, and a strictly ascending sequence has no repeats."""

    def __init__(self) -> None:
        self.ascending = True
        self.first: str | None = None
        self.last: str | None = None

    def see(self, keys: pa.Array) -> None:
        keys = keys.drop_null()
        if not self.ascending or len(keys) == 0:
            return
        if self.last is not None and keys[0].as_py() <= self.last:
            self.ascending = False
        elif len(keys) > 1 and not pc.all(pc.greater(keys.slice(1), keys.slice(0, len(keys) - 1))).as_py():
            self.ascending = False
        if self.first is None:
            self.first = keys[0].as_py()
        self.last = keys[-1].as_py()


def _ascending_across(parts: list[_AscendingKeys]) -> bool:
    """Parts in file order, each ascending, each starting above where the one before it ended."""
    seen = [part for part in parts if part.first is not None]
    return all(part.ascending for part in parts) and all(a.last < b.first for a, b in pairwise(seen))


@dataclass
class _Copied:
    rows_read: int
    accepted: int  # rows COPYed to the destination
    keys_ascending: bool
    rows_per_stream: list[int]


@contextmanager
def _copy(cursor: psycopg.Cursor, statement: str) -> Iterator[psycopg.Copy]:
    """cursor.copy(statement), but a failure inside ends the COPY with CopyAborted's fixed text and is then
    raised as itself."""
    try:
        with cursor.copy(statement) as copy:
            try:
                yield copy
            except BaseException as error:
                raise CopyAborted() from error
    except CopyAborted as aborted:
        raise aborted.__cause__ from None


def _copy_judged(
    conn: psycopg.Connection, streams: list[Iterator[pa.RecordBatch]], destination: _Destination, file_name: str,
    progress: Progress,
) -> _Copied:
    """Stream judged rows into COPY (accepted, binary) and a spool file (quarantined lines). `streams` are
    the file's parts in file order (one, unless the file was cut), judged concurrently.

    Binary, not text: PostgreSQL then takes each value as it is instead of parsing it, and the judge no longer
    formats the lines (docs/decisions.md, change 9; docs/benchmark-notes.md)."""
    rows_read = 0
    keys = [_AscendingKeys() for _ in streams]
    rows_per_stream = [0] * len(streams)
    schema = destination.rules.stored_schema
    encoder = pgpq.ArrowToPostgresBinaryEncoder(schema)
    with tempfile.TemporaryFile() as spool:
        with conn.cursor() as cursor:
            columns = ", ".join(schema.names)
            with _copy(cursor, f"COPY {destination.copy_into} ({columns}) FROM STDIN (FORMAT binary)") as copy:
                copy.write(encoder.write_header())
                for index, batch in _ahead(streams):
                    count = batch.num_rows
                    broken = batch.column("broken_rule")
                    stored = batch.select(schema.names)
                    if broken.null_count < count:  # the usual batch has no rejected row: nothing to filter
                        passed = pc.is_null(broken)
                        stored = stored.filter(passed)
                        spool.write(_contiguous_bytes(batch.column("rejected_line").filter(pc.invert(passed))))
                    copy.write(encoder.write_batch(stored if stored.schema == schema else stored.cast(schema)))
                    keys[index].see(batch.column("duplicate_key"))
                    rows_per_stream[index] += count
                    before, rows_read = rows_read, rows_read + count
                    if before // _PROGRESS_EVERY != rows_read // _PROGRESS_EVERY:
                        progress(f"  {file_name}: {rows_read // _PROGRESS_EVERY * _PROGRESS_EVERY:,} rows read")
                copy.write(encoder.finish())
            accepted = cursor.rowcount
        _copy_spool(conn, spool)
    return _Copied(rows_read, accepted, _ascending_across(keys), rows_per_stream)


def _copy_spool(conn: psycopg.Connection, spool: IO[bytes]) -> None:
    spool.seek(0)
    with conn.cursor() as cursor, _copy(
        cursor, "COPY quarantine (row_number, rule_index, kpj, duplicate_key, reason) FROM STDIN"
    ) as copy:
        while block := spool.read(1 << 20):
            copy.write(block)


def _judge_and_copy(
    conn: psycopg.Connection, judge: Judge, checked: CheckedFile, destination: _Destination,
    delivery: judging.DeliveryStamp, progress: Progress,
) -> tuple[list[str], _Copied]:
    """(extra columns, what was copied), by the fast path when DuckDB can parse the file strictly (in parts,
    one a core, when it is large and each line is one row), else by the careful reader. A failed fast
    attempt is rolled back to its savepoint."""
    path, facts, rules = checked.path, checked.facts, destination.rules
    if facts.encoding in ("utf-8", "utf-8-sig") and not facts.has_nul:
        layout = csv_layout(path, facts, rules.columns)
        parts = (judging.line_parts(facts.lines - 1, path.stat().st_size, os.cpu_count() or 1)
                 if facts.one_row_per_line else None)
        try:
            with conn.transaction():
                streams = [judge.judge_csv(path, layout.delimiter, layout.positions, layout.width, rules, delivery,
                                           part, trim=facts.padded_values) for part in parts or [None]]
                copied = _copy_judged(conn, streams, destination, path.name, progress)
                if parts and copied.rows_per_stream != [part.rows for part in parts]:
                    # inspect_file proved one row a line; row numbers would be wrong if it were not so.
                    raise RuntimeError(f"{path.name}: parts of {[p.rows for p in parts]} lines gave "
                                       f"{copied.rows_per_stream} rows")
                return layout.extra_columns, copied
        except duckdb.Error as error:
            # DuckDB's message quotes the line it could not parse: only its kind is said.
            progress(f"  {path.name}: not plain CSV for the fast reader (DuckDB {type(error).__name__}); "
                     "reading it carefully")
    stream = open_table(path, facts, rules.columns)
    batches = judge.judge_rows(as_batches(stream), rules, delivery)
    try:
        return stream.extra_columns, _copy_judged(conn, [batches], destination, path.name, progress)
    except duckdb.Error as error:
        if stream.failure:  # the reader gave up on the file; DuckDB only passed its error on
            raise stream.failure from None
        raise JudgeFailed(f"{path.name}: DuckDB {type(error).__name__} while judging rows already read") from None


def _load_file(
    conn: psycopg.Connection, judge: Judge, checked: CheckedFile, params: dict, progress: Progress
) -> FileOutcome:
    started = time.perf_counter()
    destination = DESTINATIONS[checked.table]
    rules = destination.rules.rules
    try:
        conn.execute(destination.prepare_sql)
        delivery = judging.DeliveryStamp(params["delivery_id"], params["export_date"])
        extra_columns, copied = _judge_and_copy(conn, judge, checked, destination, delivery, progress)
    except FileRejected as error:
        error.file_name = checked.path.name
        raise
    rows_read = copied.rows_read
    if rows_read != checked.manifest_rows:
        raise FileRejected(
            "row_count_mismatch",
            f"{checked.path.name}: {rows_read} baris data terbaca, manifest menyebut {checked.manifest_rows}.",
        )
    rule_params = {**params, "rule_index": row_rules.whole_file_rule(rules)[0]}
    if destination.statistics_sql:
        conn.execute(destination.statistics_sql)
    maybe_repeated = not (destination.ascending_keys_suffice and copied.keys_ascending)
    moved = 0
    if maybe_repeated and conn.execute(destination.worth_checking_sql, rule_params).fetchone()[0]:
        moved = conn.execute(destination.whole_file_sql, rule_params).rowcount
    rejected = conn.execute(
        f"""
        INSERT INTO audit.rejected_rows (delivery_id, kode_cabang, export_date, file_name, row_number, kpj,
            column_name, rule, reason)
        SELECT %(delivery_id)s, %(kode_cabang)s, %(export_date)s, %(file_name)s, row_number, kpj,
            ({row_rules.names_array_sql(rules, 'column')})[rule_index],
            ({row_rules.names_array_sql(rules, 'name')})[rule_index], reason
        FROM quarantine
        """,
        {**params, "file_name": checked.path.name},
    ).rowcount
    if destination.publish_sql:
        conn.execute(destination.publish_sql)
    loaded = copied.accepted - moved
    if loaded + rejected != rows_read:
        raise RuntimeError(f"{checked.path.name}: {rows_read} rows read but {loaded} loaded + {rejected} rejected")
    return FileOutcome(checked.path.name, "loaded", checked.facts.sha256, rows_read, loaded, rejected,
                       extra_columns=extra_columns, seconds=time.perf_counter() - started,
                       manifest_rows=checked.manifest_rows)


def _villages(conn: psycopg.Connection) -> str:
    # One comma-separated value, split by DuckDB: building an Arrow array from Python objects makes pyarrow
    # import pandas, slow for every process (docs/decisions.md, smaller measures).
    return conn.execute("SELECT coalesce(string_agg(village_code, ','), '') FROM reference.villages").fetchone()[0]


def _record_files(conn: psycopg.Connection, delivery: Delivery, delivery_id: int, files: list[FileOutcome],
                  fingerprint: str | None = None) -> None:
    with conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO audit.file_loads (delivery_id, kode_cabang, export_date, file_name, sha256, status,
                rows_read, rows_loaded, rows_rejected, reason, extra_columns, delivery_fingerprint, manifest_rows)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (delivery_id, delivery.kode_cabang, delivery.export_date, f.file_name, f.sha256, f.status,
                 f.rows_read, f.rows_loaded, f.rows_rejected, f.reason,
                 ", ".join(f.extra_columns) or None, fingerprint or delivery.fingerprint, f.manifest_rows)
                for f in files
            ],
        )


def _rejected(delivery: Delivery, problems: list[Problem], checked: list[CheckedFile]) -> list[FileOutcome]:
    at_fault = {p.file_name for p in problems}
    outcomes = [FileOutcome(p.file_name, "rejected", reason=f"{p.rule}: {p.reason}") for p in problems]
    outcomes += [
        FileOutcome(c.path.name, "rejected", c.facts.sha256,
                    reason="delivery_rejected: berkas lain dalam ekspor ini ditolak, jadi seluruh ekspor ditolak.")
        for c in checked if c.path.name not in at_fault
    ]
    return outcomes


def content_key(checked: list[CheckedFile]) -> str:
    return hashlib.sha256("".join(f"{c.path.name}:{c.facts.sha256};" for c in checked).encode()).hexdigest()


@contextmanager
def open_judge(conn: psycopg.Connection, pseudonymiser: Pseudonymiser) -> Iterator[Judge]:
    """One judge for every delivery the caller loads: setting one up (the village reference, the key) costs
    more than judging a small branch's files (docs/decisions.md, change 2)."""
    with tempfile.TemporaryDirectory(prefix="cakupan-judge-") as scratch:
        judge = Judge(_villages(conn), pseudonymiser.hmac_pads(), Path(scratch))
        try:
            yield judge
        finally:
            judge.close()


def _branch_unknown(conn: psycopg.Connection, delivery: Delivery) -> bool:
    """A well-formed branch code that reference.branches does not list (contract section 7.3)."""
    if not BRANCH_CODE.fullmatch(delivery.kode_cabang):
        return False  # a badly named folder: check_delivery says so
    return conn.execute("SELECT 1 FROM reference.branches WHERE kode_cabang = %s",
                        (delivery.kode_cabang,)).fetchone() is None


def _seen(conn: psycopg.Connection, fingerprint: str) -> bool:
    return conn.execute("SELECT 1 FROM audit.file_loads WHERE delivery_fingerprint = %s LIMIT 1",
                        (fingerprint,)).fetchone() is not None


def _no_usable_rows(delivery: Delivery, peserta: FileOutcome, checked: list[CheckedFile]) -> list[FileOutcome]:
    """A participants file of which no row was accepted rejects the delivery (contract section 7.2); its rows
    stay in audit.rejected_rows, so the branch sees why, and rows_read = rows_rejected still holds."""
    if peserta.rows_read == 0:
        why = f"{peserta.file_name} tidak berisi satu baris data pun"
    else:
        why = (f"tidak ada satu baris pun dari {peserta.file_name} yang diterima ({peserta.rows_rejected:,} baris "
               "ditolak; alasannya per baris ada di laporan ini)")
    problem = Problem(peserta.file_name, "no_usable_rows",
                      f"{why}. Ekspor ini ditolak seluruhnya; data cabang yang dipakai tetap ekspor sebelumnya.")
    files = _rejected(delivery, [problem], checked)
    files[0].rows_read, files[0].rows_rejected = peserta.rows_read, peserta.rows_rejected
    files[0].manifest_rows = peserta.manifest_rows
    return files


def load_delivery(
    conn: psycopg.Connection, delivery: Delivery, pseudonymiser: Pseudonymiser, progress: Progress = print,
    judge: Judge | None = None,
) -> DeliveryOutcome:
    """Load or reject one delivery on an autocommit connection, with `judge` (from `open_judge`, shared by a
    batch) or a judge of its own. Safe to call again for the same delivery: it is then `already_seen` and
    changes nothing."""
    outcome = DeliveryOutcome(delivery.label, delivery.kode_cabang, delivery.export_date, "already_seen")
    if _seen(conn, delivery.fingerprint):
        return outcome
    if _branch_unknown(conn, delivery):
        waiting = delivery.fingerprint + BRANCH_UNKNOWN_SUFFIX
        if _seen(conn, waiting):
            return outcome  # recorded on an earlier night; still waiting for the reference
        outcome.delivery_id = conn.execute("SELECT nextval('audit.delivery_id_seq')").fetchone()[0]
        problem = Problem(delivery.kode_cabang, "branch_unknown",
                          f"Kode cabang {delivery.kode_cabang} tidak ada di referensi kantor_cabang.csv. Ekspor ini "
                          "dimuat otomatis setelah referensi mencantumkan cabang ini.")
        outcome.status, outcome.files = "rejected", _rejected(delivery, [problem], [])
        _record_files(conn, delivery, outcome.delivery_id, outcome.files, fingerprint=waiting)
        return outcome

    delivery_id = conn.execute("SELECT nextval('audit.delivery_id_seq')").fetchone()[0]
    outcome.delivery_id = delivery_id
    checked, problems = check_delivery(delivery)
    if problems:
        outcome.status, outcome.files = "rejected", _rejected(delivery, problems, checked)
        _record_files(conn, delivery, delivery_id, outcome.files)
        return outcome

    key = content_key(checked)
    live = conn.execute(
        "SELECT delivery_id, content_sha256 FROM raw.deliveries WHERE kode_cabang = %s AND export_date = %s",
        (delivery.kode_cabang, delivery.export_date),
    ).fetchone()
    if live and live[1] == key:
        outcome.status = "duplicate"
        outcome.files = [FileOutcome(c.path.name, "duplicate", c.facts.sha256,
                                     reason=f"identik dengan ekspor yang sudah dimuat (delivery {live[0]}).")
                         for c in checked]
        _record_files(conn, delivery, delivery_id, outcome.files)
        return outcome

    params = {"delivery_id": delivery_id, "kode_cabang": delivery.kode_cabang, "export_date": delivery.export_date}
    peserta, *others = sorted(checked, key=lambda c: c.table != "peserta")
    try:
        with conn.transaction():
            with nullcontext(judge) if judge else open_judge(conn, pseudonymiser) as active:
                # Participants first: when none is usable nothing else is read, and the delivery this one
                # would replace stays.
                peserta_outcome = _load_file(conn, active, peserta, params, progress)
                if peserta_outcome.rows_loaded == 0:
                    outcome.status, outcome.files = "rejected", _no_usable_rows(delivery, peserta_outcome, checked)
                    _record_files(conn, delivery, delivery_id, outcome.files)
                    return outcome
                if live:
                    retire_delivery(conn, live[0], "superseded")
                outcome.files = [peserta_outcome, *(_load_file(conn, active, c, params, progress) for c in others)]
            conn.execute(
                "INSERT INTO raw.deliveries (delivery_id, kode_cabang, export_date, content_sha256) "
                "VALUES (%s, %s, %s, %s)",
                (delivery_id, delivery.kode_cabang, delivery.export_date, key),
            )
            _record_files(conn, delivery, delivery_id, outcome.files)
        outcome.status = "loaded"
    except FileRejected as error:
        outcome.status = "rejected"
        outcome.files = _rejected(delivery, [Problem(error.file_name, error.rule, error.reason)], checked)
        _record_files(conn, delivery, delivery_id, outcome.files)
    return outcome


def retire_delivery(conn: psycopg.Connection, delivery_id: int, status: str) -> list[str]:
    """Take an accepted delivery's rows out of `raw` and mark its loaded files `status` in audit.file_loads,
    which keeps them: a newer delivery of the same date replaces it (`superseded`, contract section 1), or an
    operator withdraws it (`withdrawn`, ingest.withdrawal). Returns the names of the files it had."""
    for table in ("raw.peserta", "raw.peserta_changes", "raw.iuran", "raw.deliveries"):
        conn.execute(f"DELETE FROM {table} WHERE delivery_id = %s", (delivery_id,))
    return [name for (name,) in conn.execute(
        "UPDATE audit.file_loads SET status = %s WHERE delivery_id = %s AND status = 'loaded' RETURNING file_name",
        (status, delivery_id))]
