"""Rows written straight into raw (as if loaded) for the gate tests: one participant, one delivery."""

from __future__ import annotations

import datetime as dt

D = dt.date(2026, 11, 20)


def insert_peserta(conn, delivery_id: int, **overrides) -> None:
    row = {"delivery_id": delivery_id, "row_number": 1, "kpj": "10000000001", "nik_hash": "a" * 64,
           "segmen": "BPU", "kode_desa": "13.73.02.2005", "pekerjaan": "OJEK", "sumber_iuran": "APBD",
           "tanggal_daftar": dt.date(2025, 1, 1), "status": "AKTIF"}
    row.update(overrides)
    columns = ", ".join(row)
    conn.execute(f"INSERT INTO raw.peserta ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))


def insert_delivery(conn, delivery_id: int, *, gate_passed: bool = False) -> None:
    conn.execute("INSERT INTO raw.deliveries "
                 "(delivery_id, kode_cabang, export_date, content_sha256, raw_gate_passed_at) "
                 "VALUES (%s, 'SAWAHLUNTO', %s, %s, CASE WHEN %s THEN now() END)",
                 (delivery_id, D - dt.timedelta(days=delivery_id), f"{delivery_id:064x}", gate_passed))
