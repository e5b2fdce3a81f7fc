"""Judge every row of a branch file in DuckDB while it streams, and write what PostgreSQL will COPY.

DuckDB parses the CSV (or takes the rows the careful Python reader produced), applies the row rules of
`row_rules` vectorised, replaces the NIK by its HMAC-SHA256, and returns every row with its row number in
the file: typed as `raw` stores it when it passes every row rule (the loader encodes those in PostgreSQL's
binary COPY format), or as a line of COPY text for the quarantine when it breaks one. Nothing here touches
PostgreSQL, and the NIK, name and birth date never leave this process.

Why DuckDB: judging in PostgreSQL cost many times a plain COPY, in DuckDB less (docs/decisions.md, smaller
measures), and a large file is judged in parts, one a core, alongside PostgreSQL's COPY
(docs/benchmark-notes.md). Only the NIK's hash is computed beside DuckDB, by the C extension of `nik_hmac`,
where DuckDB's own SHA-256 was a third of the judge's time (docs/decisions.md, change 29).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from cakupan.ingest import row_rules
from cakupan.ingest.export_contract import FULL_PROGRAM, IURAN_COLUMNS, PESERTA_COLUMNS
from cakupan.ingest.nik_hmac import NikHasher
from cakupan.ingest.readers import ABSENT

BATCH_ROWS = 16_384  # ~3 MB to COPY: small enough to keep judge and COPY both busy
# DuckDB's buffer pool fills up to this cap as a file streams past, then stays there (docs/benchmark-notes.md):
# the loader's memory is bounded whatever the file's size. A part being judged needs this much, and less ran
# out of memory (docs/benchmark-notes.md); one part a core.
_MEMORY_LIMIT = f"{64 * max(2, os.cpu_count() or 1)}MB"
# Below this a file is judged whole: a part's own start-up (skipping the lines before it) would cost more.
MIN_PART_BYTES = 16 << 20
# Half DuckDB's default: each part streams through its own buffers, and the cap below must hold them all.
_CSV_BUFFER_BYTES = 16 << 20


def contract_date(column: str) -> str:
    """YYYY-MM-DD or DD/MM/YYYY (contract section 2); NULL for anything else, 31 February included."""
    return (f"CASE WHEN regexp_full_match({column}, '[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"THEN try_strptime({column}, '%Y-%m-%d')::DATE "
            f"WHEN regexp_full_match({column}, '[0-9]{{2}}/[0-9]{{2}}/[1-9][0-9]{{3}}') "
            f"THEN try_strptime({column}, '%d/%m/%Y')::DATE END")


def contract_period(column: str) -> str:
    """YYYY-MM as the first day of that month."""
    return (f"CASE WHEN regexp_full_match({column}, '[1-9][0-9]{{3}}-(0[1-9]|1[0-2])') "
            f"THEN make_date(substr({column}, 1, 4)::INTEGER, substr({column}, 6, 2)::INTEGER, 1) END")


def rupiah(column: str) -> str:
    """Whole rupiah, plain digits or with `.` as thousands separator (1.500.000); no sign, no decimals."""
    return (f"CASE WHEN regexp_full_match({column}, '[0-9]{{1,18}}|[0-9]{{1,3}}(\\.[0-9]{{3}}){{1,5}}') "
            f"THEN replace({column}, '.', '')::BIGINT END")


def copy_text(expression: str) -> str:
    """A value as a field of COPY's text format: NULL as \\N, and backslash, tab and line breaks escaped."""
    escaped = expression
    for char, written in (("'\\'", "'\\\\'"), ("chr(9)", "'\\t'"), ("chr(10)", "'\\n'"), ("chr(13)", "'\\r'")):
        escaped = f"replace({escaped}, {char}, {written})"
    return f"coalesce({escaped}, '\\N')"


@dataclass(frozen=True)
class Stored:
    """A column of the `raw` row an accepted row becomes: its DuckDB expression over `parsed`, and its type."""

    column: str
    expression: str
    sql_type: str  # DuckDB's name; _ARROW_TYPES gives what it arrives as, which must be the PostgreSQL column's


# Binary COPY reads each value in the column's own representation: these pairs are what PostgreSQL's
# integer, bigint, text, date and boolean columns take.
_ARROW_TYPES = {"INTEGER": pa.int32(), "BIGINT": pa.int64(), "VARCHAR": pa.string(), "DATE": pa.date32(),
                "BOOLEAN": pa.bool_()}


@dataclass(frozen=True)
class TableRules:
    columns: tuple[str, ...]  # the contract's columns, in the order the judge receives them
    rules: tuple[row_rules.RowRule, ...]
    parsed: str  # SELECT over `source s` adding the parsed values the rules use
    stored: tuple[Stored, ...]  # the `raw` row after row_number and delivery_id
    duplicate_key: str  # the column the whole-file rule looks at

    @property
    def nik_hash_column(self) -> str | None:
        """The stored column that is the NIK's keyed hash (NIK_HASH_SQL), if the table has one."""
        return next((s.column for s in self.stored if s.expression == NIK_HASH_SQL), None)

    @property
    def stored_schema(self) -> pa.Schema:
        """The accepted row as the judge returns it and binary COPY takes it, row_number and delivery_id first."""
        return pa.schema([("row_number", pa.int32()), ("delivery_id", pa.int64())]
                         + [(s.column, _ARROW_TYPES[s.sql_type]) for s in self.stored])


_NIK_PROBLEM = """CASE WHEN regexp_full_match(nik, '[0-9]{16}') THEN ''
        WHEN nik = '' THEN 'empty'
        WHEN regexp_full_match(nik, '[0-9]([.,][0-9]+)?[eE][+]?[0-9]+') THEN 'scientific'
        WHEN regexp_full_match(nik, '[0-9]+') THEN 'length'
        ELSE 'characters' END"""

# HMAC-SHA256 in DuckDB, from the key's pads (Judge); where the C extension is built, the NIK itself leaves
# the query instead and `nik_hmac` hashes it before the batch leaves the judge (judge_sql's `hash_niks`).
NIK_HASH_SQL = "sha256(opad() || unhex(sha256(ipad() || encode(nik))))"

PESERTA = TableRules(
    columns=PESERTA_COLUMNS,
    rules=row_rules.PESERTA_RULES,
    parsed=f"""
        SELECT s.*,
               {_NIK_PROBLEM} AS nik_problem,
               {contract_date('s.tanggal_lahir')} AS birth_date,
               replace(s.program, ' ', '') AS program_codes,
               v.village_code IS NOT NULL AS village_known,
               {contract_date('s.tanggal_daftar')} AS registration_date,
               {contract_period('s.iuran_terakhir')} AS last_paid_period,
               {rupiah('s.upah')} AS wage
        FROM source s LEFT JOIN villages v ON v.village_code = s.kode_desa
    """,
    # Only what the numbers need (raw.peserta): sex, last period paid and wage are judged but not kept; of the
    # programmes only whether they are the full four the award's employer level counts (award-v2.md section 4).
    # Of the NIK only its hash and its first four digits, the province and district that issued it, as `PP.KK`
    # (award-v2.md section 3): never more, so that the hash stays the only key to the person. The employer and
    # the CSR employer are employers' numbers, not a person's.
    stored=(Stored("kpj", "kpj", "VARCHAR"),
            Stored("nik_hash", NIK_HASH_SQL, "VARCHAR"),
            Stored("nik_district", "substr(nik, 1, 2) || '.' || substr(nik, 3, 2)", "VARCHAR"),
            Stored("npp_pemberi_bantuan", "nullif(npp_pemberi_bantuan, '')", "VARCHAR"),
            Stored("npp", "nullif(npp, '')", "VARCHAR"),
            Stored("full_program", " AND ".join(f"contains(';' || program_codes || ';', ';{code};')"
                                                for code in FULL_PROGRAM), "BOOLEAN"),
            Stored("segmen", "segmen", "VARCHAR"), Stored("kode_desa", "kode_desa", "VARCHAR"),
            Stored("pekerjaan", "pekerjaan", "VARCHAR"), Stored("sumber_iuran", "sumber_iuran", "VARCHAR"),
            Stored("tanggal_daftar", "registration_date", "DATE"), Stored("status", "status", "VARCHAR")),
    duplicate_key="kpj",
)

IURAN = TableRules(
    columns=IURAN_COLUMNS,
    rules=row_rules.IURAN_RULES,
    parsed=f"""
        SELECT s.*,
               {contract_period('s.periode')} AS period,
               {rupiah('s.jumlah')} AS amount,
               {contract_date('s.tanggal_bayar')} AS payment_date
        FROM source s
    """,
    stored=(Stored("id_transaksi", "id_transaksi", "VARCHAR"), Stored("kpj", "kpj", "VARCHAR"),
            Stored("periode", "period", "DATE"), Stored("program", "program", "VARCHAR"),
            Stored("jumlah", "amount", "BIGINT"), Stored("tanggal_bayar", "payment_date", "DATE"),
            Stored("sumber_iuran", "sumber_iuran", "VARCHAR")),
    duplicate_key="id_transaksi",
)

TABLES = {"peserta": PESERTA, "iuran": IURAN}


class StreamFailed(duckdb.Error):
    """DuckDB stopped part way through a judged stream. Arrow hands such an error on as an OSError carrying
    DuckDB's text, which quotes the line it failed on: only the kind of error (DuckDB's own words before
    the first colon) is kept, and the error is a duckdb.Error again, not to be taken for the machine's disk."""


@dataclass(frozen=True)
class DeliveryStamp:
    """What the judge needs of the delivery: its id, which every accepted row carries, and its export date,
    which the rules compare with."""

    delivery_id: int
    export_date: dt.date


def _line(fields: Sequence[str]) -> str:
    # One concat_ws, not a chain of ||: each || would copy the growing line again. No field is NULL here.
    return "concat(concat_ws(chr(9), " + ", ".join(f"({field})::VARCHAR" for field in fields) + "), chr(10))"


def judge_sql(source: str, table: TableRules, delivery: DeliveryStamp, hash_niks: bool = True) -> str:
    """Per row of `source`, in no promised order: broken_rule, duplicate_key (set on the rows the whole-file
    rule looks at), the columns of `table.stored_schema` (filled for rows that pass) and rejected_line (for
    rows that do not: a line of COPY text for the quarantine, starting with the row number the source gave).
    With `hash_niks` False, nik_hash holds the accepted row's NIK itself, for the caller to hash."""
    # The KPJ is kept for the branch to find the row only when it is one: under a slipped column it may be a NIK.
    rejected = ("broken_rule", copy_text("CASE WHEN regexp_full_match(kpj, '[0-9]{11}') THEN kpj END"),
                copy_text(table.duplicate_key),
                copy_text(row_rules.reason_sql(table.rules)))
    # The export date is written into the rules as a literal, so that date bounds fold to constants.
    export_date = f"DATE '{delivery.export_date.isoformat()}'"
    broken_rule = row_rules.broken_rule_sql(table.rules).replace("export_date", export_date)
    rejected = tuple(field.replace("export_date", export_date) for field in rejected)
    # A rejected row's NIK is never hashed; its other values pass through as they are, which costs less than
    # blanking them (the loader keeps only the rows that pass).
    expressions = [(s, "nik" if s.column == table.nik_hash_column and not hash_niks else s.expression)
                   for s in table.stored]
    stored = ",\n               ".join(
        f"({expression})::{s.sql_type} AS {s.column}" if s.expression.isidentifier()
        else f"CASE WHEN broken_rule IS NULL THEN ({expression})::{s.sql_type} END AS {s.column}"
        for s, expression in expressions)
    return f"""
        WITH source AS ({source}), parsed AS ({table.parsed}),
        judged AS (SELECT *, {broken_rule} AS broken_rule FROM parsed)
        SELECT broken_rule,
               CASE WHEN broken_rule IS NULL OR broken_rule > {row_rules.whole_file_rule(table.rules)[0]}
                    THEN {table.duplicate_key} END AS duplicate_key,
               row_number::INTEGER AS row_number, {delivery.delivery_id}::BIGINT AS delivery_id,
               {stored},
               CASE WHEN broken_rule IS NOT NULL THEN {_line(("row_number",) + rejected)} END AS rejected_line
        FROM judged
    """


def _source_columns(columns: Sequence[str], expressions: Sequence[str], malformed: str, row_number: str,
                    trim: bool = True) -> str:
    # Values are compared trimmed and empty-as-'' whichever reader produced them; `trim` False when the
    # file is known to have no value to trim (FileFacts.padded_values).
    value = "coalesce(trim({}), '')" if trim else "coalesce({}, '')"
    return ", ".join([f"{row_number} AS row_number"]
                     + [f"{value.format(e)} AS {c}" for c, e in zip(columns, expressions, strict=True)]
                     + [f"{malformed} AS malformed"])


@dataclass(frozen=True)
class LinePart:
    """Consecutive lines of a file whose every line is one row (`FileFacts.one_row_per_line`)."""

    first_row: int  # the number of its first row; the header is line 0, so also the lines before it
    rows: int


def line_parts(data_rows: int, size_bytes: int, cores: int) -> list[LinePart] | None:
    """A file's rows cut into one part per core, or None when it is too small to be worth cutting."""
    parts = min(cores, size_bytes // MIN_PART_BYTES)
    if parts < 2:
        return None
    per_part = -(-data_rows // parts)
    return [LinePart(first, min(per_part, data_rows - first + 1)) for first in range(1, data_rows + 1, per_part)]


class Judge:
    """One DuckDB connection for one loader process: the village reference and the HMAC key live here."""

    def __init__(self, village_codes: str, hmac_pads: tuple[bytes, bytes], temp_dir: Path,
                 hash_in_duckdb: bool = False):
        """`village_codes`: every code of the reference, comma-separated. NIKs are hashed by `nik_hmac`, or in
        DuckDB when `hash_in_duckdb` or the C extension is not built."""
        self._db = duckdb.connect(config={
            "threads": os.cpu_count() or 1,
            "memory_limit": _MEMORY_LIMIT,
            "temp_directory": str(temp_dir),
            # The CSV scan's row estimate is a guess (~42 rows); left free, the optimiser builds the village
            # join's hash table on the file instead of the reference, holding the whole file in memory.
            "disabled_optimizers": "build_side_probe_side",
        })
        # DuckDB draws a progress bar on stdout for queries over 2 s: noise in task logs and in the loader's
        # own progress lines (a test reading them saw it under load).
        self._db.execute("SET enable_progress_bar = false")
        self._db.execute("CREATE TABLE villages AS SELECT DISTINCT unnest(string_split(?, ',')) AS village_code",
                         [village_codes])
        self._nik_hasher = None if hash_in_duckdb else NikHasher.build(hmac_pads)
        ipad, opad = hmac_pads
        # Blob literals, so DuckDB folds them once instead of decoding hex on every row.
        self._db.execute(f"CREATE MACRO ipad() AS {_blob(ipad)}")
        self._db.execute(f"CREATE MACRO opad() AS {_blob(opad)}")

    def close(self) -> None:
        self._db.close()

    def _stream(self, source: str, table: TableRules, delivery: DeliveryStamp,
                rows: pa.RecordBatchReader | None = None) -> Iterator[pa.RecordBatch]:
        # Its own cursor, so that the parts of one file are judged at the same time, one on each core.
        with self._db.cursor() as cursor:
            if rows is not None:
                cursor.register("careful_rows", rows)
            hasher = self._nik_hasher
            query = judge_sql(source, table, delivery, hash_niks=hasher is None)
            reader = cursor.sql(query).to_arrow_reader(BATCH_ROWS)
            hashed = table.nik_hash_column if hasher is not None else None
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except OSError as error:
                    raise StreamFailed(f"DuckDB: {str(error).split(':', 1)[0][:40]}") from None
                if hashed:
                    column = batch.schema.get_field_index(hashed)
                    batch = batch.set_column(column, hashed, hasher.hash_column(batch.column(column)))
                yield batch

    def judge_csv(self, path: Path, delimiter: str, positions: Sequence[int], width: int, table: TableRules,
                  delivery: DeliveryStamp, part: LinePart | None = None, trim: bool = True) -> Iterator[pa.RecordBatch]:
        """The fast path: DuckDB reads the file itself, whole or only `part` of its lines, trimming values
        unless `trim` is False. Strict: any row it cannot parse as the contract's CSV raises duckdb.Error, and
        the caller hands the file to the careful reader instead."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        quote = "'\"'"
        # A streaming window numbers the rows in file order as the scan goes, without holding them. It keeps
        # one query on one thread: nothing else can tell a CSV row's number (docs/benchmark-notes.md, tried),
        # so a large file is judged as parts of whole lines, each numbering from its own first row.
        scan = (f"read_csv('{_literal(path)}', auto_detect = false, delim = '{delimiter}', quote = {quote}, "
                f"escape = {quote}, strict_mode = true, columns = {columns}, encoding = 'utf-8', "
                f"buffer_size = {_CSV_BUFFER_BYTES}, ")
        if part is None:
            rows, numbered = scan + "header = true)", "row_number() OVER ()"
        else:
            rows = f"(SELECT * FROM {scan}header = false, skip = {part.first_row}) LIMIT {part.rows})"
            numbered = f"row_number() OVER () + {part.first_row - 1}"
        values = _source_columns(table.columns, ['NULL' if p == ABSENT else f'c{p}' for p in positions], 'false',
                                 numbered, trim)
        source = f"SELECT {values} FROM {rows}"
        return self._stream(source, table, delivery)

    def judge_rows(self, rows: pa.RecordBatchReader, table: TableRules,
                   delivery: DeliveryStamp) -> Iterator[pa.RecordBatch]:
        """The careful path: rows from the Python reader (`readers.as_batches`), numbered, malformed ones flagged."""
        source = f"SELECT {_source_columns(table.columns, table.columns, 'malformed', 'row_number')} FROM careful_rows"
        return self._stream(source, table, delivery, rows)


def _blob(data: bytes) -> str:
    return "'" + "".join(f"\\x{b:02x}" for b in data) + "'::BLOB"


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")
