"""Load one branch delivery into `raw`, atomically, with every row either loaded or quarantined.

Per delivery, in ONE transaction: stream each file through COPY into a temporary staging table
(NIK already replaced by its keyed hash, the name reduced to "present or not"), judge every row with
the SQL rules of `row_rules`, quarantine the broken rows in `audit.rejected_rows`, publish the good ones
to `raw.peserta` / `raw.iuran`, replace any earlier delivery of the same branch and date, and record
`audit.file_loads`. A process killed mid-file leaves nothing behind: the transaction never commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg

from cakupan import row_rules
from cakupan.landing import CheckedFile, Delivery, Problem, check_delivery
from cakupan.pseudonymise import Pseudonymiser, nik_problem
from cakupan.readers import FileRejected, open_table

PESERTA_COLUMNS = (
    "kpj", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "segmen", "program", "kode_desa", "npp",
    "pekerjaan", "sumber_iuran", "tanggal_daftar", "status", "iuran_terakhir", "upah",
)
IURAN_COLUMNS = ("id_transaksi", "kpj", "periode", "program", "jumlah", "tanggal_bayar", "sumber_iuran")

# What reaches the staging table: the NIK only as pseudonym + the kind of damage, the name only as a flag.
_PESERTA_STAGED = (
    "row_number", "malformed", "kpj", "nik_hash", "nik_problem", "nik_length", "has_nama", "tanggal_lahir",
    "jenis_kelamin", "segmen", "program", "kode_desa", "npp", "pekerjaan", "sumber_iuran", "tanggal_daftar",
    "status", "iuran_terakhir", "upah",
)
_IURAN_STAGED = ("row_number", "malformed", *IURAN_COLUMNS)
# Everything else is staged as text, exactly as written, for the SQL rules to judge.
_STAGED_TYPES = {"row_number": "integer", "nik_length": "integer", "malformed": "boolean", "has_nama": "boolean"}

_PROGRESS_EVERY = 250_000

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


def _peserta_rows(rows: Iterator[tuple[int, list[str] | None]], pseudonymiser: Pseudonymiser) -> Iterator[tuple]:
    for number, values in rows:
        if values is None:
            yield (number, True) + (None,) * (len(_PESERTA_STAGED) - 2)
            continue
        kpj, nik, nama, *rest = values
        problem = nik_problem(nik)
        nik_hash = pseudonymiser.pseudonym(nik) if not problem else None
        yield (number, False, kpj, nik_hash, problem, len(nik), bool(nama), *rest)


def _iuran_rows(rows: Iterator[tuple[int, list[str] | None]], _: Pseudonymiser) -> Iterator[tuple]:
    for number, values in rows:
        if values is None:
            yield (number, True) + (None,) * len(IURAN_COLUMNS)
        else:
            yield (number, False, *values)


@dataclass(frozen=True)
class _TableSpec:
    columns: tuple[str, ...]
    staged: tuple[str, ...]
    to_staged: Callable[..., Iterator[tuple]]
    rules: tuple[row_rules.RowRule, ...]
    parsed_sql: str  # SELECT over `stage s` adding the parsed columns the rules use
    publish_sql: str  # INSERT INTO raw.<table> SELECT ... FROM judged WHERE broken_rule IS NULL


PESERTA = _TableSpec(
    PESERTA_COLUMNS, _PESERTA_STAGED, _peserta_rows, row_rules.PESERTA_RULES,
    parsed_sql="""
        SELECT s.*,
               coalesce(repeated.kpj_rows, 1) AS kpj_rows,
               raw.parse_contract_date(s.tanggal_lahir) AS birth_date,
               string_to_array(replace(s.program, ' ', ''), ';') AS program_codes,
               v.village_code IS NOT NULL AS village_known,
               raw.parse_contract_date(s.tanggal_daftar) AS registration_date,
               raw.parse_contract_period(s.iuran_terakhir) AS last_paid_period,
               raw.parse_rupiah(s.upah) AS wage
        FROM stage s
        LEFT JOIN reference.villages v ON v.village_code = s.kode_desa
        -- A hash aggregate, not a window: sorting every wide row by KPJ costs more than all the rules.
        LEFT JOIN (SELECT kpj, count(*) AS kpj_rows FROM stage GROUP BY kpj HAVING count(*) > 1) repeated
            ON repeated.kpj = s.kpj
    """,
    publish_sql="""
        INSERT INTO raw.peserta (delivery_id, kode_cabang, export_date, row_number, kpj, nik_hash, jenis_kelamin,
            segmen, program, kode_desa, npp, pekerjaan, sumber_iuran, tanggal_daftar, status, iuran_terakhir, upah)
        SELECT %(delivery_id)s, %(kode_cabang)s, %(export_date)s, row_number, kpj, nik_hash, jenis_kelamin,
            segmen, array_to_string(program_codes, ';'), kode_desa, nullif(npp, ''), pekerjaan, sumber_iuran,
            registration_date, status, last_paid_period, wage
        FROM judged WHERE broken_rule IS NULL
    """,
)

IURAN = _TableSpec(
    IURAN_COLUMNS, _IURAN_STAGED, _iuran_rows, row_rules.IURAN_RULES,
    parsed_sql="""
        SELECT s.*,
               row_number() OVER (PARTITION BY s.id_transaksi ORDER BY s.row_number) > 1 AS earlier_in_file,
               EXISTS (SELECT 1 FROM raw.iuran r WHERE r.id_transaksi = s.id_transaksi) AS seen_before,
               raw.parse_contract_period(s.periode) AS period,
               raw.parse_rupiah(s.jumlah) AS amount,
               raw.parse_contract_date(s.tanggal_bayar) AS payment_date
        FROM stage s
    """,
    publish_sql="""
        INSERT INTO raw.iuran (delivery_id, kode_cabang, export_date, row_number, id_transaksi, kpj, periode,
            program, jumlah, tanggal_bayar, sumber_iuran)
        SELECT %(delivery_id)s, %(kode_cabang)s, %(export_date)s, row_number, id_transaksi, kpj, period,
            program, amount, payment_date, sumber_iuran
        FROM judged WHERE broken_rule IS NULL
    """,
)

SPECS = {"peserta": PESERTA, "iuran": IURAN}


def _load_file(
    conn: psycopg.Connection, checked: CheckedFile, params: dict, pseudonymiser: Pseudonymiser, progress: Progress
) -> FileOutcome:
    try:
        return _stage_judge_publish(conn, checked, params, pseudonymiser, progress)
    except FileRejected as error:
        error.file_name = checked.path.name
        raise


def _stage_judge_publish(
    conn: psycopg.Connection, checked: CheckedFile, params: dict, pseudonymiser: Pseudonymiser, progress: Progress
) -> FileOutcome:
    spec = SPECS[checked.table]
    stream = open_table(checked.path, checked.facts, spec.columns)
    staged_columns = ", ".join(f"{column} {_STAGED_TYPES.get(column, 'text')}" for column in spec.staged)
    conn.execute("DROP TABLE IF EXISTS pg_temp.stage, pg_temp.judged")
    conn.execute(f"CREATE TEMP TABLE stage ({staged_columns}) ON COMMIT DROP")
    rows_read = 0
    with conn.cursor() as cursor, cursor.copy(f"COPY stage ({', '.join(spec.staged)}) FROM STDIN") as copy:
        for row in spec.to_staged(stream.rows, pseudonymiser):
            copy.write_row(row)
            rows_read += 1
            if rows_read % _PROGRESS_EVERY == 0:
                progress(f"  {checked.path.name}: {rows_read:,} rows read")
    conn.execute("ANALYZE stage")  # temporary tables have no statistics until asked; the judge plan needs them
    if rows_read != checked.manifest_rows:
        raise FileRejected(
            "row_count_mismatch",
            f"{checked.path.name}: {rows_read} baris data terbaca, manifest menyebut {checked.manifest_rows}.",
        )
    conn.execute(
        f"CREATE TEMP TABLE judged ON COMMIT DROP AS SELECT parsed.*, {row_rules.broken_rule_sql(spec.rules)} "
        # OFFSET 0 keeps the parsed subquery from being flattened into the CASE, where every parser would
        # run again at each rule that mentions its column.
        f"AS broken_rule FROM (SELECT p.*, %(export_date)s::date AS export_date FROM ({spec.parsed_sql}) p "
        f"OFFSET 0) parsed",
        params,
    )
    rejected = conn.execute(
        f"""
        INSERT INTO audit.rejected_rows (delivery_id, kode_cabang, export_date, file_name, row_number, kpj,
            column_name, rule, reason)
        SELECT %(delivery_id)s, %(kode_cabang)s, %(export_date)s, %(file_name)s, row_number, left(kpj, 40),
            ({row_rules.names_array_sql(spec.rules, 'column')})[broken_rule],
            ({row_rules.names_array_sql(spec.rules, 'name')})[broken_rule],
            {row_rules.reason_sql(spec.rules)}
        FROM judged WHERE broken_rule IS NOT NULL
        """,
        {**params, "file_name": checked.path.name},
    ).rowcount
    loaded = conn.execute(spec.publish_sql, params).rowcount
    conn.execute("DROP TABLE stage, judged")
    return FileOutcome(
        checked.path.name, "loaded", checked.facts.sha256, rows_read, loaded, rejected,
        extra_columns=stream.extra_columns,
    )


def _record_files(conn: psycopg.Connection, delivery: Delivery, delivery_id: int, files: list[FileOutcome]) -> None:
    with conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO audit.file_loads (delivery_id, kode_cabang, export_date, file_name, sha256, status,
                rows_read, rows_loaded, rows_rejected, reason, extra_columns, delivery_fingerprint)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (delivery_id, delivery.kode_cabang, delivery.export_date, f.file_name, f.sha256, f.status,
                 f.rows_read, f.rows_loaded, f.rows_rejected, f.reason,
                 ", ".join(f.extra_columns) or None, delivery.fingerprint)
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


def load_delivery(
    conn: psycopg.Connection, delivery: Delivery, pseudonymiser: Pseudonymiser, progress: Progress = print
) -> DeliveryOutcome:
    """Load or reject one delivery on an autocommit connection. Safe to call again for the same delivery:
    it is then `already_seen` and changes nothing."""
    outcome = DeliveryOutcome(delivery.label, delivery.kode_cabang, delivery.export_date, "already_seen")
    seen = conn.execute(
        "SELECT 1 FROM audit.file_loads WHERE delivery_fingerprint = %s LIMIT 1", (delivery.fingerprint,)
    ).fetchone()
    if seen:
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
    try:
        with conn.transaction():
            if live:
                _retire(conn, live[0])
            outcome.files = [_load_file(conn, c, params, pseudonymiser, progress) for c in checked]
            conn.execute(
                "INSERT INTO raw.deliveries (delivery_id, kode_cabang, export_date, content_sha256) VALUES (%s, %s, %s, %s)",
                (delivery_id, delivery.kode_cabang, delivery.export_date, key),
            )
            _record_files(conn, delivery, delivery_id, outcome.files)
        outcome.status = "loaded"
    except FileRejected as error:
        outcome.status = "rejected"
        outcome.files = _rejected(delivery, [Problem(error.file_name, error.rule, error.reason)], checked)
        _record_files(conn, delivery, delivery_id, outcome.files)
    return outcome


def _retire(conn: psycopg.Connection, old_delivery_id: int) -> None:
    """A newer delivery replaces the older one entirely (contract section 1)."""
    for table in ("raw.peserta", "raw.iuran", "raw.deliveries"):
        conn.execute(f"DELETE FROM {table} WHERE delivery_id = %s", (old_delivery_id,))
    conn.execute(
        "UPDATE audit.file_loads SET status = 'superseded' WHERE delivery_id = %s AND status = 'loaded'",
        (old_delivery_id,),
    )
