"""Find branch deliveries in the landing folder and check them against their manifest (contract section 1).

Layout: `<landing_root>/<KODE>/<YYYY-MM-DD>/` with `peserta.csv|xlsx`, `iuran.csv|xlsx` and `_manifest.json`,
which the branch writes last. A folder without a manifest is still uploading and is not read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cakupan.readers import FileFacts, FileRejected, inspect_file

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


def _parse_date(text: str) -> dt.date | None:
    if not EXPORT_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def delivery_at(folder: Path) -> Delivery:
    manifest = folder / MANIFEST
    stat = manifest.stat()
    fingerprint = hashlib.sha256(manifest.read_bytes() + str(stat.st_mtime_ns).encode()).hexdigest()
    return Delivery(folder, folder.parent.name, _parse_date(folder.name), fingerprint)


def find_deliveries(landing_root: Path, up_to: dt.date) -> tuple[list[Delivery], list[Path]]:
    """Complete deliveries with export_date <= up_to (badly named folders included, to be rejected),
    sorted by date then branch; and the incomplete folders (no manifest yet)."""
    if not landing_root.is_dir():
        raise FileNotFoundError(
            f"Landing folder {landing_root} does not exist: set CAKUPAN_LANDING_ROOT or run `cakupan generate`."
        )
    complete: list[Delivery] = []
    incomplete: list[Path] = []
    for branch_dir in sorted(p for p in landing_root.iterdir() if p.is_dir()):
        for folder in sorted(p for p in branch_dir.iterdir() if p.is_dir()):
            export_date = _parse_date(folder.name)
            if export_date is not None and export_date > up_to:
                continue
            if (folder / MANIFEST).is_file():
                complete.append(delivery_at(folder))
            else:
                incomplete.append(folder)
    complete.sort(key=lambda d: (d.export_date or dt.date.min, d.kode_cabang, d.folder.name))
    return complete, incomplete


def check_delivery(delivery: Delivery) -> tuple[list[CheckedFile], list[Problem]]:
    """Everything that can be known before reading rows: names, manifest, files and checksums."""
    problems: list[Problem] = []
    if not BRANCH_CODE.fullmatch(delivery.kode_cabang):
        problems.append(Problem(delivery.kode_cabang, "folder_name",
            f"Nama folder cabang '{delivery.kode_cabang}' tidak sesuai format [A-Z0-9_]{{2,20}}."))
    if delivery.export_date is None:
        problems.append(Problem(delivery.folder.name, "folder_name",
            f"Nama folder tanggal '{delivery.folder.name}' bukan tanggal YYYY-MM-DD yang valid."))
    try:
        manifest = json.loads((delivery.folder / MANIFEST).read_text(encoding="utf-8-sig"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        return [], [*problems, Problem(MANIFEST, "manifest_unreadable", f"{MANIFEST} bukan JSON yang valid ({error}).")]
    if manifest.get("contract_version") != 1:
        problems.append(Problem(MANIFEST, "manifest_version",
            f"contract_version {manifest.get('contract_version')!r} tidak didukung; yang berlaku: 1."))
    if manifest.get("kode_cabang") != delivery.kode_cabang:
        problems.append(Problem(MANIFEST, "manifest_branch_mismatch",
            f"kode_cabang di manifest ({manifest.get('kode_cabang')!r}) berbeda dengan folder ({delivery.kode_cabang!r})."))
    if delivery.export_date and manifest.get("export_date") != delivery.export_date.isoformat():
        problems.append(Problem(MANIFEST, "manifest_date_mismatch",
            f"export_date di manifest ({manifest.get('export_date')!r}) berbeda dengan folder ({delivery.folder.name})."))

    listed = {entry.get("name"): entry for entry in manifest.get("files", []) if isinstance(entry, dict)}
    checked: list[CheckedFile] = []
    for table in TABLES:
        candidates = [delivery.folder / f"{table}{suffix}" for suffix in SUFFIXES]
        present = [p for p in candidates if p.is_file()]
        if len(present) != 1:
            what = "tidak ada" if not present else "ada dua (CSV dan XLSX)"
            problems.append(Problem(f"{table}.csv", "file_missing", f"Berkas {table}.csv/.xlsx {what}."))
            continue
        path = present[0]
        entry = listed.get(path.name)
        if entry is None:
            problems.append(Problem(path.name, "manifest_file_missing", f"{path.name} tidak tercantum di {MANIFEST}."))
            continue
        facts = inspect_file(path)
        if facts.sha256 != entry.get("sha256"):
            problems.append(Problem(path.name, "checksum_mismatch",
                f"sha256 {path.name} tidak sama dengan manifest: berkas berubah atau terpotong saat diunggah."))
            continue
        rows = entry.get("rows")
        if not isinstance(rows, int) or rows < 0:
            problems.append(Problem(path.name, "manifest_rows_invalid", f"Jumlah baris {path.name} di manifest tidak valid."))
            continue
        checked.append(CheckedFile(table, path, facts, rows))
    return checked, problems


__all__ = ["Delivery", "CheckedFile", "Problem", "FileRejected", "find_deliveries", "check_delivery", "delivery_at"]
