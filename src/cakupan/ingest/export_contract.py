"""The branch export of contract branch-export-v1 (docs/contracts/): its files' columns and its code lists.

Written once here: the row rules, the judge, the loader, the sample generator and the tests' delivery
builder read them from this module. The code lists that BI tools need labels for too (segments, programmes,
occupations, funding sources) are the files of code_lists/ beside this module, a code a row with its label in
Bahasa Indonesia and in English: package data, so that the loader has them wherever the package is installed,
and dbt loads the same files as seeds (dbt_project/seeds/ links to them) for the lookup marts.
"""

from __future__ import annotations

import csv
import io
from importlib import resources


def _codes(code_list: str) -> tuple[str, ...]:
    """The codes of a code list, in its file's order (the order the loader's messages list them in)."""
    text = resources.files(__package__).joinpath(f"code_lists/{code_list}.csv").read_text(encoding="utf-8")
    return tuple(row["code"] for row in csv.DictReader(io.StringIO(text)))


# The columns of peserta.csv and iuran.csv, in the contract's order (a file may order them otherwise).
PESERTA_COLUMNS = ("kpj", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "segmen", "program", "kode_desa", "npp",
                   "pekerjaan", "sumber_iuran", "tanggal_daftar", "status", "iuran_terakhir", "upah",
                   "npp_pemberi_bantuan")
# Columns a file may leave out: read as empty when absent. npp_pemberi_bantuan came with export v1.1
# (docs/contracts/award-v2.md section 1), so that a branch still on v1 loads exactly as before.
OPTIONAL_COLUMNS = frozenset({"npp_pemberi_bantuan"})
# The manifest's contract_version values a delivery may state (v1.1 is additive: award-v2.md section 1).
CONTRACT_VERSIONS = (1, 1.1)
IURAN_COLUMNS = ("id_transaksi", "kpj", "periode", "program", "jumlah", "tanggal_bayar", "sumber_iuran")

SEGMENTS = _codes("segment_codes")
PROGRAMS = _codes("program_codes")
OCCUPATIONS = _codes("occupation_codes")
FUNDING_SOURCES = _codes("funding_source_codes")
# skala_usaha of the reference's pemberi_kerja.csv (award-v2.md section 2), read by the reference loader.
EMPLOYER_SIZES = _codes("employer_size_codes")
# The programmes a participation must hold to count as full for the award's employer level (award-v2.md section 4).
FULL_PROGRAM = ("JKK", "JKM", "JHT", "JP")
SEXES = ("L", "P")
STATUSES = ("AKTIF", "NONAKTIF")
