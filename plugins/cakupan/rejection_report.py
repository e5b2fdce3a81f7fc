"""Per-branch rejection reports: a CSV in Bahasa Indonesia the branch office fetches after each delivery."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg

HEADER = ("berkas", "baris", "kpj", "kolom", "aturan", "alasan")


def write_rejection_report(conn: psycopg.Connection, reports_root: Path, delivery_id: int) -> Path | None:
    """Write `<reports_root>/<KODE>/<YYYY-MM-DD>/penolakan.csv` for a delivery with any rejection."""
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
    folder = reports_root / kode_cabang / (export_date.isoformat() if export_date else "tanggal_tidak_valid")
    path = folder / "penolakan.csv"
    written = 0
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel opens it as UTF-8
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for row in [*whole_files, *rows]:
            writer.writerow(row)
            written += 1
    if written == 0:
        path.unlink()
        return None
    return path
