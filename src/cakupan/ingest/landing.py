"""Find branch deliveries in the landing folder and check them against their manifest (contract section 1).

Layout: `<landing_root>/<KODE>/<YYYY-MM-DD>/` with `peserta.csv|xlsx`, `iuran.csv|xlsx` and `_manifest.json`,
which the branch writes last. A folder without a manifest is still uploading and is not read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import structlog

from cakupan.ingest.export_contract import CONTRACT_VERSIONS
from cakupan.ingest.file_bounds import MAX_FILE_BYTES, MAX_MANIFEST_BYTES
from cakupan.ingest.readers import FileFacts, FileRejected, inspect_file

log = structlog.get_logger("airflow.task.operators.cakupan.landing")

BRANCH_CODE = re.compile(r"[A-Z0-9_]{2,20}")
EXPORT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MANIFEST = "_manifest.json"
TABLES = ("peserta", "iuran")
SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True)
class Delivery:
    """A complete export folder: its manifest exists. Identified by the manifest's bytes and mtime,
    so re-reading the same delivery is recognised and a re-upload of identical files is not."""

    folder: Path
    kode_cabang: str
    export_date: dt.date | None
    fingerprint: str

    @property
    def label(self) -> str:
        return f"{self.kode_cabang}/{self.export_date or self.folder.name}"

    def as_xcom(self) -> dict:
        return {"folder": str(self.folder)}


@dataclass(frozen=True)
class CheckedFile:
    table: str
    path: Path
    facts: FileFacts
    manifest_rows: int


@dataclass(frozen=True)
class Problem:
    """A delivery-level rejection: `file_name` is the file at fault (or the manifest/folder)."""

    file_name: str
    rule: str
    reason: str


EARLIEST_EXPORT_DATE = dt.date(2000, 1, 1)  # contract section 7.6: an earlier date folder is implausible
_HEX_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")


def _parse_date(text: str) -> dt.date | None:
    if not EXPORT_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _fingerprint(folder: Path) -> str:
    """The manifest's bytes and mtime; never read through a link, nor past MAX_MANIFEST_BYTES: a link or an
    oversized manifest is fingerprinted by what lstat says of it, and rejected by check_delivery."""
    digest = hashlib.sha256()
    manifest = folder / MANIFEST
    for part in (folder.parent, folder, manifest):
        if part.is_symlink():
            status = os.lstat(part)
            digest.update(f"link:{part.name}:{os.readlink(part)}:{status.st_mtime_ns}".encode())
            return digest.hexdigest()
    status = os.lstat(manifest)
    if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_MANIFEST_BYTES:
        digest.update(f"not-read:{status.st_mode}:{status.st_size}:{status.st_mtime_ns}".encode())
        return digest.hexdigest()
    digest.update(_read_manifest_bytes(manifest))
    digest.update(str(status.st_mtime_ns).encode())
    return digest.hexdigest()


def _read_manifest_bytes(manifest: Path) -> bytes:
    # O_NOFOLLOW: a manifest swapped for a link after it was looked at is still not followed.
    descriptor = os.open(manifest, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(MAX_MANIFEST_BYTES + 1)


def delivery_at(folder: Path) -> Delivery:
    return Delivery(folder, folder.parent.name, _parse_date(folder.name), _fingerprint(folder))


def find_deliveries(landing_root: Path, up_to: dt.date) -> tuple[list[Delivery], list[Path]]:
    """Complete deliveries with export_date <= up_to (badly named folders included, to be rejected),
    sorted by date then branch; and the incomplete folders (no manifest yet).

    Nothing is followed through a symbolic link (contract section 7.4). A linked date folder is a delivery,
    to be rejected; a linked branch folder is not looked into, so it is skipped with a warning in the log."""
    if not landing_root.is_dir():
        raise FileNotFoundError(
            f"Landing folder {landing_root} does not exist: set CAKUPAN_LANDING_ROOT or run `cakupan generate`."
        )
    complete: list[Delivery] = []
    incomplete: list[Path] = []
    for branch_dir in sorted(landing_root.iterdir()):
        if branch_dir.is_symlink():
            log.warning("%s is a symbolic link, not a branch folder: not followed, not read.", branch_dir.name)
            continue
        if not branch_dir.is_dir():
            continue
        for folder in sorted(branch_dir.iterdir()):
            linked = folder.is_symlink()
            if not (linked or folder.is_dir()):
                continue
            export_date = _parse_date(folder.name)
            if export_date is not None and export_date > up_to:
                continue
            if linked or os.path.lexists(folder / MANIFEST):
                complete.append(delivery_at(folder))
            else:
                incomplete.append(folder)
    complete.sort(key=lambda d: (d.export_date or dt.date.min, d.kode_cabang, d.folder.name))
    return complete, incomplete


def _not_regular(name: str, what: str) -> Problem:
    return Problem(name, "not_a_regular_file", f"{what} bukan berkas biasa di dalam folder landing (misalnya "
                   "tautan simbolik): tidak dibaca. Unggah berkasnya sendiri.")


def _outside_or_linked(delivery: Delivery) -> Problem | None:
    folder = delivery.folder
    if folder.parent.is_symlink():
        return _not_regular(folder.parent.name, f"Folder cabang {folder.parent.name}")
    if folder.is_symlink():
        return _not_regular(folder.name, f"Folder {folder.name}")
    root = folder.parent.parent.resolve()
    if not folder.resolve().is_relative_to(root):
        return _not_regular(folder.name, f"Folder {folder.name}")
    return None


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


# Manifest text quoted back as written: a code of letters (as branch codes are) or a version number. Anything
# else is only described: a date or a run of digits there could be a birth date or a NIK pasted by mistake.
_QUOTABLE_TEXT = re.compile(r"[A-Z_]{2,20}|[0-9]{1,3}(\.[0-9]{1,3}){0,2}")


def _quoted(value: object) -> str:
    """A manifest value for a reason sentence: quotable values as written, anything else described, so that
    whatever a branch's tool put there is not copied into the audit and the report."""
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)[:40]
    if isinstance(value, str):
        return repr(value) if _QUOTABLE_TEXT.fullmatch(value) else f"teks {len(value):,} karakter"
    return "daftar" if isinstance(value, list) else "objek"


def _manifest_shape(manifest: object) -> str | None:
    """What is wrong with the manifest's shape (contract section 1), as a sentence; None when it is right.
    Strict, so that a manifest of the wrong shape is a rejection here rather than a TypeError later."""
    if not isinstance(manifest, dict):
        return "isinya bukan objek JSON {...}."
    for key in ("contract_version", "kode_cabang", "export_date", "files"):
        if key not in manifest:
            return f"kunci {key} tidak ada."
    for key in ("kode_cabang", "export_date"):
        if not isinstance(manifest[key], str):
            return f"{key} harus teks, tertulis {_quoted(manifest[key])}."
    files = manifest["files"]
    if not isinstance(files, list):
        return f"files harus daftar [...], tertulis {_quoted(files)}."
    names: set[str] = set()
    for number, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            return f"files ke-{number} harus objek {{name, rows, sha256}}."
        name, rows, sha256 = entry.get("name"), entry.get("rows"), entry.get("sha256")
        if not isinstance(name, str) or not name:
            return f"files ke-{number}: name harus teks, tertulis {_quoted(name)}."
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            return f"files ke-{number} ({_quoted(name)}): rows harus bilangan bulat >= 0, tertulis {_quoted(rows)}."
        if not isinstance(sha256, str) or not _HEX_SHA256.fullmatch(sha256):
            return f"files ke-{number} ({_quoted(name)}): sha256 harus 64 karakter heksadesimal."
        if name in names:
            return f"berkas {_quoted(name)} tercantum dua kali."
        names.add(name)
    return None


def _read_manifest(delivery: Delivery) -> tuple[dict | None, Problem | None]:
    path = delivery.folder / MANIFEST
    if not _regular_file(path):
        return None, _not_regular(MANIFEST, MANIFEST)
    if os.lstat(path).st_size > MAX_MANIFEST_BYTES:
        return None, Problem(MANIFEST, "manifest_too_large", f"{MANIFEST} lebih besar dari "
                             f"{MAX_MANIFEST_BYTES // 1024:,} KB: tidak dibaca.")
    try:
        manifest = json.loads(_read_manifest_bytes(path).decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        # json's message quotes the position only, but a manifest that is not JSON may be anything at all.
        return None, Problem(MANIFEST, "manifest_unreadable", f"{MANIFEST} bukan JSON yang valid.")
    version = manifest.get("contract_version") if isinstance(manifest, dict) else None
    if isinstance(manifest, dict) and "contract_version" in manifest and (
            isinstance(version, bool) or not isinstance(version, int | float) or version not in CONTRACT_VERSIONS):
        return None, Problem(MANIFEST, "manifest_version",
                             f"contract_version {_quoted(version)} tidak didukung; yang berlaku: "
                             f"{' atau '.join(str(v) for v in CONTRACT_VERSIONS)}.")
    shape = _manifest_shape(manifest)
    if shape:
        return None, Problem(MANIFEST, "manifest_shape", f"{MANIFEST} tidak sesuai kontrak: {shape}")
    return manifest, None


def check_delivery(delivery: Delivery) -> tuple[list[CheckedFile], list[Problem]]:
    """Everything that can be known before reading rows: names, manifest, files and checksums."""
    linked = _outside_or_linked(delivery)
    if linked:
        return [], [linked]
    problems: list[Problem] = []
    if not BRANCH_CODE.fullmatch(delivery.kode_cabang):
        problems.append(Problem(delivery.kode_cabang, "folder_name",
            f"Nama folder cabang '{delivery.kode_cabang[:40]}' tidak sesuai format [A-Z0-9_]{{2,20}}."))
    if delivery.export_date is None:
        problems.append(Problem(delivery.folder.name, "folder_name",
            f"Nama folder tanggal '{delivery.folder.name[:40]}' bukan tanggal YYYY-MM-DD yang valid."))
    elif delivery.export_date < EARLIEST_EXPORT_DATE:
        problems.append(Problem(delivery.folder.name, "implausible_date",
            f"Tanggal ekspor {delivery.export_date} sebelum {EARLIEST_EXPORT_DATE}: tidak masuk akal; "
            "periksa nama folder tanggal."))
    manifest, unreadable = _read_manifest(delivery)
    if unreadable:
        return [], [*problems, unreadable]
    if manifest["kode_cabang"] != delivery.kode_cabang:
        problems.append(Problem(MANIFEST, "manifest_branch_mismatch",
            f"kode_cabang di manifest ({_quoted(manifest['kode_cabang'])}) berbeda dengan folder "
            f"('{delivery.kode_cabang}')."))
    written_date = manifest["export_date"]
    if delivery.export_date and written_date != delivery.export_date.isoformat():
        # A date in the export_date field is the branch's claim of its export date, quoted as written.
        shown = repr(written_date) if EXPORT_DATE.fullmatch(written_date) else _quoted(written_date)
        problems.append(Problem(MANIFEST, "manifest_date_mismatch",
            f"export_date di manifest ({shown}) berbeda dengan folder ({delivery.folder.name})."))

    listed = {entry["name"]: entry for entry in manifest["files"]}
    checked: list[CheckedFile] = []
    for table in TABLES:
        candidates = [delivery.folder / f"{table}{suffix}" for suffix in SUFFIXES]
        present = [p for p in candidates if os.path.lexists(p)]
        if len(present) != 1:
            what = "tidak ada" if not present else "ada dua (CSV dan XLSX)"
            problems.append(Problem(f"{table}.csv", "file_missing", f"Berkas {table}.csv/.xlsx {what}."))
            continue
        path = present[0]
        if not _regular_file(path):
            problems.append(_not_regular(path.name, path.name))
            continue
        entry = listed.get(path.name)
        if entry is None:
            problems.append(Problem(path.name, "manifest_file_missing", f"{path.name} tidak tercantum di {MANIFEST}."))
            continue
        size = os.lstat(path).st_size
        if size > MAX_FILE_BYTES:
            problems.append(Problem(path.name, "file_too_large", f"{path.name} berukuran {size / (1 << 30):,.1f} GiB; "
                                    f"batasnya {MAX_FILE_BYTES >> 30} GiB."))
            continue
        facts = inspect_file(path)
        # Case-insensitive (section 7.5): Windows' Get-FileHash prints upper case.
        if facts.sha256 != entry["sha256"].lower():
            problems.append(Problem(path.name, "checksum_mismatch",
                f"sha256 {path.name} tidak sama dengan manifest: berkas berubah atau terpotong saat diunggah."))
            continue
        checked.append(CheckedFile(table, path, facts, entry["rows"]))
    return checked, problems


__all__ = ["Delivery", "CheckedFile", "Problem", "FileRejected", "find_deliveries", "check_delivery", "delivery_at"]
