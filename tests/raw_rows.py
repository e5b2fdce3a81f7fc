"""Rows written straight into raw (as if loaded) for the gate tests: one participant, one delivery; and the GX
checkpoint those tests run on them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cakupan.gates.quality import CheckpointOutcome, run_checkpoint
from cakupan.platform.warehouse import warehouse_url

D = dt.date(2026, 11, 20)


def empty_raw(conn) -> None:
    """No delivery, participant row or change, and no night's raw gate open: for a test that loads again and
    again on one connection (hypothesis)."""
    conn.execute("DELETE FROM raw.peserta; DELETE FROM raw.peserta_changes; DELETE FROM raw.deliveries; "
                 "DELETE FROM audit.raw_gate_night")


def insert_peserta(conn, delivery_id: int, **overrides) -> None:
    row = {"delivery_id": delivery_id, "row_number": 1, "kpj": "10000000001", "nik_hash": "a" * 64,
           "segmen": "BPU", "kode_desa": "13.73.02.2005", "pekerjaan": "OJEK", "sumber_iuran": "APBD",
           "tanggal_daftar": dt.date(2025, 1, 1), "status": "AKTIF"}
    row.update(overrides)
    columns = ", ".join(row)
    conn.execute(f"INSERT INTO raw.peserta ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))


def insert_delivery(conn, delivery_id: int, export_date: dt.date | None = None, branch: str = "SAWAHLUNTO", *,
                    gate_passed: bool = False, row_checks: str | None = None, sha256: str | None = None) -> None:
    """A delivery of `branch` (exported `delivery_id` days before D unless said), through the raw gate if
    `gate_passed`, under the row checks of digest `row_checks` (quality.row_checks_digest)."""
    conn.execute("INSERT INTO raw.deliveries (delivery_id, kode_cabang, export_date, content_sha256, "
                 "raw_gate_passed_at, raw_gate_row_checks) VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END, %s)",
                 (delivery_id, branch, export_date or D - dt.timedelta(days=delivery_id),
                  sha256 or f"{delivery_id:064x}", gate_passed, row_checks))


def gate(settings, tmp_path: Path, stage: str = "raw", *, results_dir: Path | None = None,
         data_docs_dir: Path | None = None) -> CheckpointOutcome:
    """The stage's checkpoint as the transformer reads, its results and Data Docs under `tmp_path`."""
    return run_checkpoint(
        stage, warehouse_url=warehouse_url(settings, "transformer"), expectations_dir=settings.expectations_dir,
        results_dir=results_dir or tmp_path / "validations", data_docs_dir=data_docs_dir or tmp_path / "docs")
