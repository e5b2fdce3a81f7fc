"""Write branch deliveries for tests: contract-v1 folders with CSV/XLSX files and a matching manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from cakupan.ingest.export_contract import IURAN_COLUMNS, OPTIONAL_COLUMNS, PESERTA_COLUMNS

# Export v1's header; a v1.1 delivery adds npp_pemberi_bantuan (PESERTA_HEADER_V1_1).
PESERTA_HEADER = [c for c in PESERTA_COLUMNS if c not in OPTIONAL_COLUMNS]
PESERTA_HEADER_V1_1 = list(PESERTA_COLUMNS)
IURAN_HEADER = list(IURAN_COLUMNS)

# A valid participant of Kota Sawahlunto; tests override single fields to break one rule at a time.
GOOD_PESERTA = {
    "kpj": "10000000001", "nik": "1373020101900001", "nama": "Ngadimin Sastrowardoyo",
    "tanggal_lahir": "1990-01-01", "jenis_kelamin": "L", "segmen": "BPU", "program": "JKK;JKM",
    "kode_desa": "13.73.02.2005", "npp": "", "pekerjaan": "OJEK", "sumber_iuran": "APBD",
    "tanggal_daftar": "2025-03-01", "status": "AKTIF", "iuran_terakhir": "2026-10", "upah": "1.500.000",
}
GOOD_IURAN = {
    "id_transaksi": "TRX-1", "kpj": "10000000001", "periode": "2026-11", "program": "JKK", "jumlah": "10000",
    "tanggal_bayar": "2026-11-20", "sumber_iuran": "APBD",
}


def peserta(**fields: str) -> dict[str, str]:
    return {**GOOD_PESERTA, **fields}


def iuran(**fields: str) -> dict[str, str]:
    return {**GOOD_IURAN, **fields}


def csv_bytes(header: list[str], rows: list[dict[str, str]], *, delimiter: str = ",", encoding: str = "utf-8",
              line_end: str = "\n") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return text.getvalue().encode(encoding)


def write_delivery(
    landing_root: Path, kode_cabang: str, export_date: str, peserta_rows: list[dict[str, str]],
    iuran_rows: list[dict[str, str]] | None = None, *, files: dict[str, bytes] | None = None,
    manifest: bool = True, manifest_overrides: dict | None = None, row_counts: dict[str, int] | None = None,
    peserta_header: list[str] | None = None,
) -> Path:
    """Write a delivery folder; `files` replaces generated file contents by name (e.g. a broken XLSX)."""
    folder = landing_root / kode_cabang / export_date
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "peserta.csv": csv_bytes(peserta_header or PESERTA_HEADER, peserta_rows),
        "iuran.csv": csv_bytes(IURAN_HEADER, iuran_rows or []),
    }
    counts = {"peserta.csv": len(peserta_rows), "iuran.csv": len(iuran_rows or [])}
    if files:
        for name, data in files.items():
            stem = name.split(".")[0]
            contents = {k: v for k, v in contents.items() if not k.startswith(stem + ".")}
            contents[name] = data
    counts.update(row_counts or {})
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    if manifest:
        body = {
            "contract_version": 1, "kode_cabang": kode_cabang, "export_date": export_date,
            "files": [{"name": name, "rows": counts.get(name, 0), "sha256": hashlib.sha256(data).hexdigest()}
                      for name, data in contents.items()],
        }
        body.update(manifest_overrides or {})
        (folder / "_manifest.json").write_text(json.dumps(body))
    return folder


def register_branches(conn, *codes: str) -> None:
    """List branches in reference.branches, as kantor_cabang.csv would: the loader rejects a delivery of a
    branch the reference does not list (contract section 7.3)."""
    for code in codes:
        conn.execute("INSERT INTO reference.branches (kode_cabang, nama_cabang, kanwil) VALUES (%s, %s, 'Uji') "
                     "ON CONFLICT DO NOTHING", (code, f"Cabang {code}"))


def load_folder(conn, folder: Path, pseudonymiser):
    """Load the delivery in `folder` as a night would, its branch listed in the reference first."""
    from cakupan.ingest import landing
    from cakupan.ingest.load import load_delivery

    register_branches(conn, folder.parent.name)
    return load_delivery(conn, landing.delivery_at(folder), pseudonymiser, progress=lambda _: None)
