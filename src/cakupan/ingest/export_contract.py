"""The branch export of contract branch-export-v1 (docs/contracts/): its files' columns and its code lists.

Written once here: the row rules, the judge, the loader, the sample generator and the tests' delivery
builder read them from this module.
"""

from __future__ import annotations

# The columns of peserta.csv and iuran.csv, in the contract's order (a file may order them otherwise).
PESERTA_COLUMNS = ("kpj", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "segmen", "program", "kode_desa", "npp",
                   "pekerjaan", "sumber_iuran", "tanggal_daftar", "status", "iuran_terakhir", "upah")
IURAN_COLUMNS = ("id_transaksi", "kpj", "periode", "program", "jumlah", "tanggal_bayar", "sumber_iuran")

SEGMENTS = ("PU", "BPU", "JAKON", "PMI")
PROGRAMS = ("JKK", "JKM", "JHT", "JP", "JKP")
OCCUPATIONS = (
    "OJEK", "PEDAGANG", "PETANI", "NELAYAN", "TENAGA_KEAGAMAAN", "LEMBAGA_ADAT", "PERANGKAT_DESA",
    "NON_ASN", "ADHOC_PEMILU", "PEKERJA_RUMAH_TANGGA", "BURUH", "LAINNYA",
)
FUNDING_SOURCES = ("MANDIRI", "PEMBERI_KERJA", "APBN", "APBD", "APBDES", "DBH_SAWIT", "CSR", "BAZNAS")
SEXES = ("L", "P")
STATUSES = ("AKTIF", "NONAKTIF")
