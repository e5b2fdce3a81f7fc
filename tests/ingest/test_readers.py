"""Every dialect contract section 2 allows reads to the same rows; unreadable files are rejected whole."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from cakupan.ingest.export_contract import PESERTA_COLUMNS
from cakupan.ingest.readers import FileRejected, inspect_file, open_table
from delivery_builder import PESERTA_HEADER, csv_bytes, peserta

ROWS = [peserta(nama="Ngadimin Sastrowardoyo"), peserta(kpj="10000000002", nama="José d’Almeida")]
# The files here are v1: the optional v1.1 column reads as empty.
EXPECTED = [[row.get(c, "") for c in PESERTA_COLUMNS] for row in ROWS]


def read(path):
    stream = open_table(path, inspect_file(path), PESERTA_COLUMNS)
    return [values for _, values in stream.rows], stream.extra_columns


@pytest.mark.parametrize(
    "delimiter, encoding, line_end",
    [(",", "utf-8", "\n"), (";", "utf-8", "\r\n"), (";", "utf-8-sig", "\n"), (",", "cp1252", "\r\n")],
)
def test_csv_dialects_read_the_same_rows(tmp_path, delimiter, encoding, line_end):
    path = tmp_path / "peserta.csv"
    path.write_bytes(csv_bytes(PESERTA_HEADER, ROWS, delimiter=delimiter, encoding=encoding, line_end=line_end))
    assert read(path) == (EXPECTED, [])


def test_header_case_order_spaces_and_extra_columns(tmp_path):
    header = [f"  {c.upper()} " for c in reversed(PESERTA_HEADER)] + ["Catatan"]
    renamed = [{**{f"  {c.upper()} ": r[c] for c in PESERTA_HEADER}, "Catatan": "x"} for r in ROWS]
    path = tmp_path / "peserta.csv"
    path.write_bytes(csv_bytes(header, renamed, delimiter=";"))
    assert read(path) == (EXPECTED, ["Catatan"])


def test_xlsx_first_sheet(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(PESERTA_HEADER)
    for row in ROWS:
        values = [row[c] for c in PESERTA_HEADER]
        values[PESERTA_HEADER.index("tanggal_lahir")] = dt.datetime(1990, 1, 1)  # a real date cell
        sheet.append(values)
    workbook.create_sheet("Catatan").append(["ignored"])
    path = tmp_path / "peserta.xlsx"
    workbook.save(path)
    assert read(path) == (EXPECTED, [])


def test_a_row_with_the_wrong_number_of_fields_is_flagged_not_dropped(tmp_path):
    path = tmp_path / "peserta.csv"
    data = csv_bytes(PESERTA_HEADER, ROWS) + b"10000000003,too,few\n"
    path.write_bytes(data)
    rows, _ = read(path)
    assert rows[:2] == EXPECTED and rows[2] is None


@pytest.mark.parametrize(
    "content, rule",
    [
        (b"", "empty_file"),
        (b"kpj,nama\n1,x\n", "required_columns_missing"),
        (b"\x81\x8d\x8f\x90\x9d" * 10, "encoding"),
    ],
)
def test_unreadable_files_are_rejected_whole(tmp_path, content, rule):
    path = tmp_path / "peserta.csv"
    path.write_bytes(content)
    with pytest.raises(FileRejected) as error:
        read(path)
    assert error.value.rule == rule


MIB = 1 << 20


@pytest.mark.parametrize(
    "content, lines, one_row_per_line",
    [
        (b"a,b\n1,2\n3,4\n", 3, True),
        (b"a,b\r\n1,2\r\n3,4", 3, True),  # CRLF, no line break after the last row
        (b"a,b\n1,2\n\n3,4\n", 4, False),  # a blank line, which CSV readers skip
        (b"a,b\r\n1,2\r\n\r\n3,4\r\n", 4, False),
        (b'a,b\n"1",2\n', 2, False),  # quoted: a quoted field may hold a line break
        # A blank line across the seam of two 1 MiB blocks.
        (b"a,b\n" + b"1" * (MIB - 5) + b"\n" + b"\n2,3\n", 4, False),
        (b"a,b\n" + b"1" * (MIB - 6) + b"\r\n" + b"\r\n2,3\n", 4, False),
        (b"a,b\n" + b"1" * (MIB - 5) + b"\n" + b"2,3\n", 3, True),
    ],
)
def test_lines_are_counted_and_blank_ones_noticed(tmp_path, content, lines, one_row_per_line):
    """A file the loader cuts into parts must have one row per line: each part numbers its rows from the
    lines before it."""
    path = tmp_path / "peserta.csv"
    path.write_bytes(content)
    facts = inspect_file(path)
    assert (facts.lines, facts.one_row_per_line) == (lines, one_row_per_line)


@pytest.mark.parametrize(
    "content, padded",
    [
        (b"kpj,nama\n1,Budi Santoso\n", False),  # spaces inside a value need no trimming
        (b" kpj , nama \r\n1,Budi\r\n", False),  # the header's names are trimmed on their own
        (b"kpj,nama\n1 ,Budi\n", True),
        (b"kpj,nama\n1, Budi\n", True),
        (b"kpj;nama\n1; Budi\n", True),
        (b"kpj,nama\n 1,Budi\n", True),
        (b"kpj,nama\r\n1,Budi \r\n", True),
        (b"kpj,nama\n1,Budi ", True),  # at the very end of the file
        (b'kpj,nama\n1,"Budi"\n', True),  # quoted: a space may hide anywhere
        # A space before a line end across the seam of two 1 MiB blocks.
        (b"kpj,nama\n1," + b"x" * (MIB - 12) + b" " + b"\n2,y\n", True),
        (b"kpj,nama\n1," + b"x" * (MIB - 12) + b"z" + b"\n2,y\n", False),
    ],
)
def test_values_that_need_trimming_are_noticed(tmp_path, content, padded):
    """The fast reader trims values only in files that may have a value to trim."""
    path = tmp_path / "peserta.csv"
    path.write_bytes(content)
    assert inspect_file(path).padded_values is padded
