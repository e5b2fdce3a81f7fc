"""Stream a branch export file (CSV in any allowed dialect, or XLSX) as normalised text rows.

Contract section 2: `,` or `;`, optional quoting, UTF-8 with or without BOM or Windows-1252, LF or CRLF;
XLSX first sheet; header names case-insensitive with surrounding spaces ignored, any order, extra
columns ignored (and reported). Readers never touch the database; memory does not grow with file size.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from cakupan.ingest.export_contract import OPTIONAL_COLUMNS
from cakupan.ingest.file_bounds import (
    MAX_HEADER_CHARS,
    MAX_HEADER_COLUMNS,
    MAX_HEADER_FIELD_BYTES,
    MAX_LINE_CHARS,
    xlsx_over_bounds,
)

_BLOCK = 1 << 20
# Extra columns are recorded in audit.file_loads; a header of a thousand of them is not copied there whole.
MAX_EXTRA_COLUMNS_KEPT = 50


class FileRejected(Exception):
    """The whole file cannot be read under the contract; `rule` names the broken rule."""

    def __init__(self, rule: str, reason: str):
        super().__init__(reason)
        self.rule = rule
        self.reason = reason
        self.file_name = ""  # set by the loader, which knows which file it was reading


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    encoding: str  # "utf-8-sig", "utf-8", "cp1252", or "xlsx"
    has_nul: bool = False  # NUL bytes cannot enter PostgreSQL text: such files get them replaced
    lines: int = 0  # lines of text, the header's included
    # Every line is one row: no quote character (so no quoted line break) and no blank line (which CSV
    # readers skip). Such a file can be judged in parts that each know their first row's number.
    one_row_per_line: bool = False
    # Some value below the header may start or end with a space (a space next to `,`, `;` or a line end).
    # Values are compared trimmed; trimming every value of a file that has none to trim is the fast
    # reader's work for nothing (docs/benchmark-notes.md). When in doubt, True.
    padded_values: bool = True


def sha256_of(path: Path, stop: threading.Event | None = None) -> str:
    """The file's checksum; given up (returning "") once `stop` is set, so that a reader that has stopped
    (a rejection, SIGTERM) does not wait for the rest of a large file to be hashed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            if stop is not None and stop.is_set():
                return ""
            digest.update(block)
    return digest.hexdigest()


class _LineCounter:
    """Counts a file's lines block by block, and notices a blank one (empty, or a lone CR), which CSV readers
    skip: numpy, because bytes.count and `in` with two-byte needles took longer than the checksum."""

    def __init__(self) -> None:
        self.newlines = 0
        self.has_blank_line = False
        self._last_newline = -1  # absolute offset; -1 so that a file starting with a newline counts as blank
        self._offset = 0

    def see(self, block: bytes) -> None:
        newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == 10) + self._offset
        if len(newlines):
            if not self.has_blank_line:
                line_ends = np.concatenate(([self._last_newline], newlines))
                self.has_blank_line = bool((np.diff(line_ends) <= 2).any())
            self._last_newline = int(newlines[-1])
            self.newlines += len(newlines)
        self._offset += len(block)


_IS_FIELD_END = np.zeros(256, bool)
_IS_FIELD_END[list(b",;\n\r")] = True


class _PaddingFinder:
    """Notices a value with a space at either end, in a file without quotes: a space next to a delimiter or
    a line end. numpy, as _LineCounter, for the same reason."""

    def __init__(self) -> None:
        self.found = False
        self._last = 10  # the byte before the block; the first block starts at a line end
        self._space_at_end = False  # the last block ended with a space, whose next byte was not known yet

    def see(self, block: bytes) -> None:
        if self.found or not block:
            return
        data = np.frombuffer(block, np.uint8)
        spaces = np.flatnonzero(data == 32)
        before = data[np.maximum(spaces - 1, 0)]
        before[spaces == 0] = self._last
        inside = spaces < len(data) - 1
        self.found = (bool(self._space_at_end and _IS_FIELD_END[data[0]]) or bool(_IS_FIELD_END[before].any())
                      or bool(_IS_FIELD_END[data[spaces[inside] + 1]].any()))
        self._space_at_end, self._last = bool(data[-1] == 32), int(data[-1])

    def finish(self) -> bool:
        return self.found or self._space_at_end


def inspect_file(path: Path) -> FileFacts:
    """One pass over the bytes (the checksum the manifest promises takes a pass of its own, on another core):
    the text encoding, its lines, and whether any value needs trimming."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    has_nul = has_quote = False
    lines = _LineCounter()
    last_byte = b""
    stop = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="cakupan-checksum") as pool, path.open("rb") as handle:
        # hashlib lets go of the GIL while it hashes a block, so the two passes run side by side.
        checksum = pool.submit(sha256_of, path, stop)
        try:
            first = handle.read(_BLOCK)
            has_bom = first.startswith(codecs.BOM_UTF8)
            # The header's names are trimmed on their own: only what follows its line end counts.
            header_end = first.find(b"\n")
            padding = _PaddingFinder()
            padding.see(first[header_end:] if header_end >= 0 else b"")
            block = first
            while block:
                has_nul = has_nul or b"\x00" in block
                has_quote = has_quote or b'"' in block
                lines.see(block)
                if block is not first:
                    padding.see(block)
                last_byte = block[-1:]
                # ASCII is UTF-8 as it stands: only blocks with other bytes (or a character begun before) decode.
                if is_utf8 and not (block.isascii() and utf8.getstate()[0] == b""):
                    try:
                        utf8.decode(block)
                    except UnicodeDecodeError:
                        is_utf8 = False
                block = handle.read(_BLOCK)
        except BaseException:
            stop.set()  # the checksum thread gives up too, instead of reading the rest of the file
            raise
        sha256 = checksum.result()
    padded = header_end < 0 or padding.finish()
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if path.suffix.lower() == ".xlsx":
        encoding = "xlsx"
    elif is_utf8:
        encoding = "utf-8-sig" if has_bom else "utf-8"
    else:
        encoding = "cp1252"
    line_count = lines.newlines + (1 if last_byte not in (b"", b"\n") else 0)
    return FileFacts(sha256, encoding, has_nul, line_count,
                     one_row_per_line=encoding != "xlsx" and not (has_quote or lines.has_blank_line),
                     # Inside quotes a space can sit anywhere: only an unquoted file is known to have none.
                     padded_values=padded or has_quote or encoding == "xlsx")


def normalise_header(name: str) -> str:
    return name.strip().lower()


@dataclass
class TableStream:
    """Rows of one file in `columns` order; `extra_columns` were present but are not part of the contract."""

    columns: Sequence[str]
    extra_columns: list[str]
    rows: Iterator[tuple[int, list[str] | None]] = field(repr=False)
    # (row_number, values) with row_number 1 = first data row; values None = wrong number of fields
    # Why the rows stopped, when the file turned out unreadable part way. The rows are pulled through DuckDB,
    # which turns the FileRejected raised into its own error (with the Python traceback in its text): the
    # loader takes the rejection from here instead.
    failure: FileRejected | None = field(default=None, repr=False)

    def fail(self, rejection: FileRejected) -> FileRejected:
        self.failure = rejection
        return rejection


def _listed(names: Sequence[str], most: int = 20) -> str:
    """Header names for a reason sentence: they are file content, so each is cut short and so is the list."""
    shown = [n if len(n) <= 40 else n[:40] + "…" for n in names[:most]]
    more = f" dan {len(names) - most:,} lainnya" if len(names) > most else ""
    return ", ".join(shown) + more


def _check_header_size(path: Path, header: Sequence[str]) -> None:
    if len(header) > MAX_HEADER_COLUMNS:
        raise FileRejected("too_many_columns", f"{path.name}: baris judul berisi {len(header):,} kolom; "
                           f"batasnya {MAX_HEADER_COLUMNS:,}.")
    if any(len(name.encode("utf-8")) > MAX_HEADER_FIELD_BYTES for name in header):
        raise FileRejected("header_field_too_long", f"{path.name}: ada judul kolom yang lebih panjang dari "
                           f"{MAX_HEADER_FIELD_BYTES // 1024} KB; baris pertama harus berisi nama kolom.")


ABSENT = -1  # the position of an optional column (export_contract.OPTIONAL_COLUMNS) a file leaves out


def _value(values: Sequence[str], position: int) -> str:
    return "" if position == ABSENT else values[position]


def _map_header(path: Path, header: list[str], columns: Sequence[str]) -> tuple[list[int], list[str]]:
    _check_header_size(path, header)
    names = [normalise_header(h) for h in header]
    if not any(names):
        raise FileRejected("header_missing", f"{path.name}: baris pertama kosong; baris judul kolom wajib ada.")
    position_of: dict[str, int] = {}
    duplicated: set[str] = set()
    for position, name in enumerate(names):
        if name and name in position_of:
            duplicated.add(name)
        position_of.setdefault(name, position)
    missing = [c for c in columns if c not in position_of and c not in OPTIONAL_COLUMNS]
    if missing:
        found = [n for n in names if n]
        # Without most of the contract's names the first line is likely a data row (a header left out): its
        # values may be a person's, so they are not repeated back.
        looks_like_header = len(columns) - len(missing) >= len(columns) / 2
        seen = (f"kolom yang ditemukan: {_listed(found)}" if looks_like_header
                else f"baris pertama berisi {len(names):,} kolom yang tidak dikenal; apakah baris judul kolom hilang?")
        raise FileRejected("required_columns_missing",
                           f"{path.name}: kolom wajib tidak ada: {', '.join(missing)} ({seen}).")
    if duplicated:
        raise FileRejected("duplicate_columns", f"{path.name}: kolom ganda: {_listed(sorted(duplicated))}.")
    # ABSENT for an optional column the file leaves out: its values read as empty.
    positions = [position_of.get(c, ABSENT) for c in columns]
    contract = set(columns)
    extras = [h.strip() for h, n in zip(header, names, strict=True) if n and n not in contract]
    if len(extras) > MAX_EXTRA_COLUMNS_KEPT:
        extras = [*extras[:MAX_EXTRA_COLUMNS_KEPT], f"... dan {len(extras) - MAX_EXTRA_COLUMNS_KEPT:,} lainnya"]
    return positions, [e if len(e) <= 64 else e[:64] + "…" for e in extras]


def _sniff_delimiter(line: str) -> str:
    outside_quotes = line.split('"')[::2]
    semicolons = sum(part.count(";") for part in outside_quotes)
    commas = sum(part.count(",") for part in outside_quotes)
    return ";" if semicolons > commas else ","


@dataclass(frozen=True)
class CsvLayout:
    """What the header line says: how to split the rows and where each contract column sits."""

    delimiter: str
    width: int
    positions: list[int]  # of the contract's columns, in their order
    extra_columns: list[str]


def _over_long_header(path: Path, start: str) -> FileRejected:
    """Why a header line with no line end within MAX_HEADER_CHARS is refused, from its start."""
    delimiter = _sniff_delimiter(start)
    fields = "".join(start.split('"')[::2]).split(delimiter)
    if len(fields) > MAX_HEADER_COLUMNS:
        return FileRejected("too_many_columns", f"{path.name}: baris judul berisi lebih dari "
                            f"{MAX_HEADER_COLUMNS:,} kolom.")
    if max(len(f) for f in fields) > MAX_HEADER_FIELD_BYTES:
        return FileRejected("header_field_too_long", f"{path.name}: ada judul kolom yang lebih panjang dari "
                            f"{MAX_HEADER_FIELD_BYTES // 1024} KB; baris pertama harus berisi nama kolom.")
    return FileRejected("header_too_long", f"{path.name}: baris judul lebih panjang dari "
                        f"{MAX_HEADER_CHARS:,} karakter tanpa akhir baris.")


def _read_header(path: Path, handle: io.TextIOWrapper, columns: Sequence[str]) -> CsvLayout:
    try:
        # Bounded: a file with no line break is not read whole to find the header's end.
        first_line = handle.readline(MAX_HEADER_CHARS + 1)
    except UnicodeDecodeError as error:
        raise FileRejected("encoding", f"{path.name}: bukan teks UTF-8 atau Windows-1252.") from error
    first_line = first_line.replace("\x00", "\ufffd")
    if len(first_line) > MAX_HEADER_CHARS:
        raise _over_long_header(path, first_line)
    if not first_line.strip():
        raise FileRejected("empty_file", f"{path.name}: berkas kosong, tanpa baris judul kolom.")
    delimiter = _sniff_delimiter(first_line)
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except csv.Error as error:
        raise _csv_problem(path, error, "baris judul") from None
    positions, extras = _map_header(path, header, columns)
    return CsvLayout(delimiter, len(header), positions, extras)


def _csv_problem(path: Path, error: csv.Error, where: str) -> FileRejected:
    """A csv.Error as a rejection; its text is the csv module's own, but it is described, not quoted."""
    if "field limit" in str(error):
        return FileRejected("header_field_too_long" if where == "baris judul" else "unreadable",
                            f"{path.name}: {where}: ada nilai yang lebih panjang dari batas pembaca CSV.")
    return FileRejected("unreadable", f"{path.name}: {where}: susunan CSV tidak valid (periksa tanda kutip "
                        "dan pemisah kolom).")


def csv_layout(path: Path, facts: FileFacts, columns: Sequence[str]) -> CsvLayout:
    with io.TextIOWrapper(path.open("rb"), encoding=facts.encoding, errors="strict", newline="") as handle:
        return _read_header(path, handle, columns)


def _bounded_lines(path: Path, handle: io.TextIOWrapper) -> Iterator[str]:
    """The file's lines, each read with a bound: a line of a gigabyte is refused, not held."""
    while line := handle.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise FileRejected("line_too_long", f"{path.name}: ada baris yang lebih panjang dari "
                               f"{MAX_LINE_CHARS:,} karakter.")
        yield line


def _csv_rows(path: Path, encoding: str, columns: Sequence[str], has_nul: bool) -> TableStream:
    handle = io.TextIOWrapper(path.open("rb"), encoding=encoding, errors="strict", newline="")
    try:
        layout = _read_header(path, handle, columns)
    except FileRejected:
        handle.close()
        raise
    delimiter, width, positions, extras = layout.delimiter, layout.width, layout.positions, layout.extra_columns

    lines = _bounded_lines(path, handle)
    if has_nul:
        # A NUL becomes U+FFFD: the value then breaks its row rule and is reported, instead of failing the load.
        lines = (line.replace("\x00", "\ufffd") for line in lines)

    def rows() -> Iterator[tuple[int, list[str] | None]]:
        with handle:
            number = 0
            try:
                for record in csv.reader(lines, delimiter=delimiter):
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue  # blank line: spreadsheets often leave one at the end
                    number += 1
                    if len(record) != width:
                        yield number, None
                    else:
                        yield number, [_value(record, p).strip() for p in positions]
            except FileRejected as error:
                raise stream.fail(error) from None
            except UnicodeDecodeError:
                raise stream.fail(FileRejected("encoding", f"{path.name}: setelah baris {number} ada byte yang "
                                               "bukan teks UTF-8 atau Windows-1252.")) from None
            except csv.Error as error:
                raise stream.fail(_csv_problem(path, error, f"setelah baris {number}")) from None

    stream = TableStream(columns, extras, rows())
    return stream


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # A spreadsheet number cell: keep what a CSV export would show, so the row rules can name it.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value).upper()
    return str(value).strip()


def _unreadable_xlsx(path: Path, error: Exception, after_row: int | None = None) -> FileRejected:
    # openpyxl's messages can quote a cell: only the kind of error is named.
    where = "" if after_row is None else f" setelah baris {after_row}"
    return FileRejected("unreadable", f"{path.name}: berkas XLSX rusak atau tidak lengkap{where} "
                        f"({type(error).__name__}).")


# Reading an XLSX is zipfile, zlib, an XML parser and openpyxl's own model of a workbook: on a damaged or
# hostile file any of them may raise almost anything, so every exception but these is taken to be about the
# file's content. These are the machine's: a disk that fails or fills, memory that runs out.
_XLSX_INFRASTRUCTURE_ERRORS = (OSError, MemoryError)


def _xlsx_rows(path: Path, columns: Sequence[str]) -> TableStream:
    import openpyxl  # only XLSX deliveries pay for the import

    try:
        oversized = xlsx_over_bounds(path)
    except _XLSX_INFRASTRUCTURE_ERRORS:
        raise
    except Exception as error:  # noqa: BLE001 - see _XLSX_INFRASTRUCTURE_ERRORS
        raise _unreadable_xlsx(path, error) from None
    if oversized:
        raise FileRejected(oversized.rule, oversized.reason)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except _XLSX_INFRASTRUCTURE_ERRORS:
        raise
    except Exception as error:  # noqa: BLE001 - see _XLSX_INFRASTRUCTURE_ERRORS
        raise _unreadable_xlsx(path, error) from None
    try:
        cells = workbook.worksheets[0].iter_rows(values_only=True)
        header = [_cell_text(v) for v in next(cells, ())]
        if not header:
            raise FileRejected("empty_file", f"{path.name}: lembar pertama kosong, tanpa baris judul kolom.")
        positions, extras = _map_header(path, header, columns)
    except FileRejected:
        workbook.close()
        raise
    except _XLSX_INFRASTRUCTURE_ERRORS:
        workbook.close()
        raise
    except Exception as error:  # noqa: BLE001 - see _XLSX_INFRASTRUCTURE_ERRORS
        workbook.close()
        raise _unreadable_xlsx(path, error) from None

    def rows() -> Iterator[tuple[int, list[str] | None]]:
        number = 0
        try:
            for record in cells:
                values = [_cell_text(v) for v in record]
                if not any(values):
                    continue
                number += 1
                values += [""] * (len(header) - len(values))
                yield number, [_value(values, p) for p in positions]
        except _XLSX_INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:  # noqa: BLE001 - see _XLSX_INFRASTRUCTURE_ERRORS
            raise stream.fail(_unreadable_xlsx(path, error, number)) from None
        finally:
            workbook.close()

    stream = TableStream(columns, extras, rows())
    return stream


def as_batches(stream: TableStream, batch_rows: int = 50_000) -> pa.RecordBatchReader:
    """The rows as Arrow batches for the judge: `row_number`, one string column per contract column, and
    `malformed`."""
    schema = pa.schema([pa.field("row_number", pa.int64())] + [pa.field(c, pa.string()) for c in stream.columns]
                       + [pa.field("malformed", pa.bool_())])

    def batches() -> Iterator[pa.RecordBatch]:
        chunk: list[tuple[int, list[str] | None]] = []
        for row in stream.rows:
            chunk.append(row)
            if len(chunk) == batch_rows:
                yield _batch(chunk, schema)
                chunk = []
        if chunk:
            yield _batch(chunk, schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _batch(chunk: list[tuple[int, list[str] | None]], schema: pa.Schema) -> pa.RecordBatch:
    numbers = pa.array([number for number, _ in chunk], pa.int64())
    columns = [pa.array([None if values is None else values[i] for _, values in chunk], pa.string())
               for i in range(len(schema) - 2)]
    malformed = pa.array([values is None for _, values in chunk])
    return pa.RecordBatch.from_arrays([numbers, *columns, malformed], schema=schema)


def open_table(path: Path, facts: FileFacts, columns: Sequence[str]) -> TableStream:
    """Open a file for streaming; raises FileRejected when it cannot be read at all."""
    if facts.encoding == "xlsx":
        return _xlsx_rows(path, columns)
    return _csv_rows(path, facts.encoding, columns, facts.has_nul)
