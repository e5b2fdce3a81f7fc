"""How large a branch's delivery may be before the loader refuses to read it (contract section 7.1).

Every bound is a fixed constant here, so that one bad delivery costs a bounded amount of memory and time
and ends as a rejection, never as a loader that grows until the machine kills it. The bounds sit far above
what a real branch sends: the largest branch office has a few hundred thousand participants, and Excel
itself stops at 1,048,576 rows.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

# _manifest.json lists two files: a few hundred bytes. A larger one is not read at all.
MAX_MANIFEST_BYTES = 1 << 20
# A data file on disk (CSV or XLSX). Rows are streamed, so this bounds the night's time, not memory.
MAX_FILE_BYTES = 4 << 30

# The header line: contract section 7.1 names the field and column bounds; the line bound keeps a file with
# no line break (or a header of 1,000 long names) from being read whole to find out.
MAX_HEADER_FIELD_BYTES = 64 * 1024
MAX_HEADER_COLUMNS = 1_000
MAX_HEADER_CHARS = 1 << 20
# A physical line below the header: a participant's row is a few hundred bytes.
MAX_LINE_CHARS = 1 << 20

# XLSX is a zip: openpyxl inflates the worksheet as it streams rows, but holds shared strings, and a row's
# cells, whole in memory. zipfile never returns more than a member's declared size (a member that inflates
# beyond it fails its CRC), so checking the declared sizes before opening bounds what openpyxl can inflate.
# A worksheet of Excel's 1,048,576 rows of the contract's 15 columns is about 700 MB of XML; its shared
# strings (names, NIK, KPJ) about 200 MB.
MAX_XLSX_WORKSHEET_BYTES = 1 << 30
MAX_XLSX_SHARED_STRINGS_BYTES = 256 << 20
MAX_XLSX_TOTAL_BYTES = 3 << 29  # 1.5 GiB
MAX_XLSX_MEMBERS = 1_000
# zipfile reads the whole central directory (a record per member) before anything else: a workbook's is a
# few kilobytes.
MAX_XLSX_DIRECTORY_BYTES = 1 << 20
# Spreadsheet XML deflates 5 to 30 times; a bomb (one value repeated) hundreds of times. Members under
# RATIO_FLOOR_BYTES are too small to matter whatever their ratio.
MAX_XLSX_RATIO = 100
RATIO_FLOOR_BYTES = 1 << 20


@dataclass(frozen=True)
class Oversized:
    """Why a file is over a bound, as a sentence for the branch (Bahasa Indonesia)."""

    rule: str
    reason: str


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB"


def _directory_extent(path: Path) -> tuple[int, int] | None:
    """(members, bytes) of the zip's central directory as its end record declares them, zip64 included;
    None when there is no end record (zipfile then says the file is no zip)."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - (1 << 16) - 22))
        tail = handle.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or len(tail) < end + 22:
            return None
        members, directory_bytes = struct.unpack_from("<HI", tail, end + 10)
        locator = end - 20
        if (members == 0xFFFF or directory_bytes == 0xFFFFFFFF) and locator >= 0 \
                and tail[locator:locator + 4] == b"PK\x06\x07":
            handle.seek(struct.unpack_from("<Q", tail, locator + 8)[0])
            record = handle.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                members, directory_bytes = struct.unpack_from("<QQ", record, 32)
    return members, directory_bytes


def _too_many_members(path: Path, members: int) -> Oversized:
    return Oversized("xlsx_too_large", f"{path.name}: berisi {members:,} bagian; batasnya "
                     f"{MAX_XLSX_MEMBERS:,}. Simpan ulang dari Excel atau kirim sebagai CSV.")


def xlsx_over_bounds(path: Path) -> Oversized | None:
    """The first bound the zip's central directory says `path` breaks, without inflating anything (and
    without reading a directory larger than a workbook's). Raises zipfile.BadZipFile when it is no zip."""
    extent = _directory_extent(path)
    if extent and extent[0] > MAX_XLSX_MEMBERS:
        return _too_many_members(path, extent[0])
    if extent and extent[1] > MAX_XLSX_DIRECTORY_BYTES:
        return Oversized("xlsx_too_large", f"{path.name}: daftar isi zip-nya {_mib(extent[1])}; batasnya "
                         f"{_mib(MAX_XLSX_DIRECTORY_BYTES)}. Simpan ulang dari Excel atau kirim sebagai CSV.")
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    if len(members) > MAX_XLSX_MEMBERS:
        return _too_many_members(path, len(members))
    total = 0
    for member in members:
        name = member.filename.lower()
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            bound = MAX_XLSX_WORKSHEET_BYTES
        elif name == "xl/sharedstrings.xml":
            bound = MAX_XLSX_SHARED_STRINGS_BYTES
        else:
            bound = MAX_XLSX_TOTAL_BYTES
        if member.file_size > bound:
            return Oversized("xlsx_too_large", f"{path.name}: bagian {member.filename[:80]} membesar menjadi "
                             f"{_mib(member.file_size)} saat dibuka; batasnya {_mib(bound)}. Kirim sebagai CSV.")
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_XLSX_RATIO * max(member.compress_size, 1):
            return Oversized("xlsx_too_large", f"{path.name}: bagian {member.filename[:80]} membesar lebih dari "
                             f"{MAX_XLSX_RATIO} kali saat dibuka (bom zip?). Simpan ulang dari Excel atau kirim "
                             "sebagai CSV.")
        total += member.file_size
    if total > MAX_XLSX_TOTAL_BYTES:
        return Oversized("xlsx_too_large", f"{path.name}: isinya membesar menjadi {_mib(total)} saat dibuka; "
                         f"batasnya {_mib(MAX_XLSX_TOTAL_BYTES)}. Kirim sebagai CSV.")
    return None
