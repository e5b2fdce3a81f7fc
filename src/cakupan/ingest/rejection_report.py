"""Per-branch rejection reports: a CSV in Bahasa Indonesia the branch office fetches after each delivery.

A report is written whole or not at all (a temporary file in the same folder, synced, then renamed over the
old one), readable by the branch offices' group and no one else. The loader writes it after the delivery
committed; when that fails (a full disk), the delivery stays loaded and the next night re-makes the report
from the audit tables (`remake_missing_reports`, from nightly.find_exports).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from pathlib import Path

import psycopg

HEADER = ("berkas", "baris", "kpj", "kolom", "aturan", "alasan")
REPORT_NAME = "penolakan.csv"
FILE_MODE = 0o640
FOLDER_MODE = 0o750
# How far back a night looks for reports that should exist but do not: a branch fetches its report
# within days, and looking further costs a query over more of audit.file_loads for nothing.
REMAKE_WITHIN = dt.timedelta(days=14)


def report_path(reports_root: Path, kode_cabang: str, export_date: dt.date | None) -> Path:
    date_folder = export_date.isoformat() if export_date else "tanggal_tidak_valid"
    return reports_root / kode_cabang / date_folder / REPORT_NAME


def _folder(reports_root: Path, folder: Path) -> None:
    """The branch's and the date's folders, FOLDER_MODE whatever the umask; the root is left as it is."""
    for part in (folder.parent, folder):
        part.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        if part != reports_root:
            os.chmod(part, FOLDER_MODE)


def _replace_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def write_rejection_report(conn: psycopg.Connection, reports_root: Path, delivery_id: int) -> Path | None:
    """Write `<reports_root>/<KODE>/<YYYY-MM-DD>/penolakan.csv` for a delivery with any rejection; remove an
    earlier one for the same branch and date when this delivery has none. Raises OSError (a full disk)
    without leaving a partial report behind."""
    files = conn.execute(
        "SELECT kode_cabang, export_date, file_name, reason FROM audit.file_loads "
        "WHERE delivery_id = %s ORDER BY file_load_id",
        (delivery_id,),
    ).fetchall()
    if not files:
        return None
    kode_cabang, export_date = files[0][0], files[0][1]
    whole_files = [(name, "", "", "*", reason.split(":", 1)[0], reason.split(":", 1)[-1].strip())
                   for _, _, name, reason in files if reason and not reason.startswith("identik")]
    rows = conn.execute(
        "SELECT file_name, row_number, coalesce(kpj, ''), column_name, rule, reason FROM audit.rejected_rows "
        "WHERE delivery_id = %s ORDER BY file_name DESC, row_number",
        (delivery_id,),
    )
    path = report_path(reports_root, kode_cabang, export_date)
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=";")
    writer.writerow(HEADER)
    written = 0
    for row in [*whole_files, *rows]:
        writer.writerow(row)
        written += 1
    if written == 0:
        path.unlink(missing_ok=True)
        return None
    _folder(reports_root, path.parent)
    _replace_atomically(path, text.getvalue().encode("utf-8-sig"))  # BOM: Excel opens it as UTF-8
    return path


def remake_missing_reports(conn: psycopg.Connection, reports_root: Path) -> list[Path]:
    """Write the report of each recent delivery with rejections whose report is missing (its night could not
    write it). Only the latest delivery of a branch and date has a report, as on the night it came."""
    latest = conn.execute(
        """
        SELECT DISTINCT ON (kode_cabang, export_date) delivery_id, kode_cabang, export_date,
               bool_or(status = 'rejected' OR rows_rejected > 0) OVER (PARTITION BY delivery_id) AS has_rejections
        FROM audit.file_loads
        WHERE loaded_at > now() - %s AND status <> 'duplicate'
        ORDER BY kode_cabang, export_date, delivery_id DESC
        """,
        (REMAKE_WITHIN,),
    ).fetchall()
    remade = []
    for delivery_id, kode_cabang, export_date, has_rejections in latest:
        if has_rejections and not report_path(reports_root, kode_cabang, export_date).exists():
            path = write_rejection_report(conn, reports_root, delivery_id)
            if path:
                remade.append(path)
    return remade
