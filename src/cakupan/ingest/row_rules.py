"""The row rules of contract sections 3-4, each with a name and a sentence in Bahasa Indonesia that a
branch officer understands.

A row breaking several rules is reported once, for the first rule in the order below. Reasons never quote
the value as written: in a file whose columns slipped (a header left out, a delimiter missing) a NIK, a name
or a birth date can sit under any column (contract section 7.8). The branch finds the row by its number.

Rules that look at one row at a time are DuckDB SQL, run by `judge` while the file streams past. The two
rules that need the whole file (a KPJ or a payment seen twice) have no `broken_when`: the loader applies
them in PostgreSQL once the file is in, keeping their place in the order (see `load.WHOLE_FILE_SQL`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cakupan.ingest.export_contract import (
    FUNDING_SOURCES,
    OCCUPATIONS,
    PROGRAMS,
    SEGMENTS,
    SEXES,
    STATUSES,
)


def _set(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _codes_list(values: tuple[str, ...]) -> str:
    """A regular expression for codes from `values` separated by `;`, without spaces."""
    one = "(" + "|".join(values) + ")"
    return f"{one}(;{one})*"


def _written(column: str) -> str:
    """SQL describing the value as written without repeating it (its length), for a reason sentence."""
    return f"CASE WHEN {column} = '' THEN 'kosong' ELSE length({column}) || ' karakter' END"


@dataclass(frozen=True)
class RowRule:
    name: str
    column: str
    broken_when: str | None  # DuckDB condition over the parsed row; None for a whole-file rule
    reason: str  # SQL expression giving the sentence (DuckDB, or PostgreSQL for a whole-file rule)


def _unknown_code(column: str, values: tuple[str, ...], label: str) -> RowRule:
    return RowRule(
        f"{column}_tidak_dikenal", column, f"{column} NOT IN {_set(values)}",
        f"'{label} tidak dikenal (tertulis ' || {_written(column)} || '); pilihan: {', '.join(values)}.'",
    )


MALFORMED = RowRule(
    "baris_rusak", "*", "malformed",
    "'Jumlah kolom pada baris ini berbeda dengan baris judul; periksa pemisah kolom dan tanda kutip.'",
)
KPJ_FORMAT = RowRule(
    "kpj_format", "kpj", "NOT regexp_full_match(kpj, '[0-9]{11}')",
    f"'KPJ harus 11 digit angka; tertulis ' || {_written('kpj')} || '.'",
)

PESERTA_RULES = (
    MALFORMED,
    KPJ_FORMAT,
    RowRule("kpj_duplikat", "kpj", None,
            "'KPJ ' || kpj || ' muncul ' || kpj_rows || ' kali dalam berkas ini; semua baris dengan KPJ ini ditolak.'"),
    RowRule("nik_notasi_ilmiah", "nik", "nik_problem = 'scientific'",
            "'NIK tertulis dalam notasi ilmiah (seperti 3.27312E+15): spreadsheet mengubahnya menjadi angka dan "
            "digit terakhirnya hilang. Format kolom NIK sebagai teks, lalu ekspor ulang.'"),
    RowRule("nik_format", "nik", "nik_problem <> ''",
            "CASE nik_problem WHEN 'empty' THEN 'NIK kosong; NIK wajib diisi 16 digit angka.' "
            "WHEN 'length' THEN 'NIK harus 16 digit angka; tertulis ' || length(nik) || ' digit.' "
            "ELSE 'NIK harus 16 digit angka; ada karakter selain angka.' END"),
    RowRule("nama_kosong", "nama", "nama = ''", "'Nama peserta kosong; nama wajib diisi.'"),
    RowRule("tanggal_lahir_tidak_valid", "tanggal_lahir", "birth_date IS NULL",
            "'Tanggal lahir bukan tanggal yang valid (format YYYY-MM-DD atau DD/MM/YYYY).'"),
    RowRule("umur_di_luar_batas", "tanggal_lahir",
            "birth_date > export_date - INTERVAL 10 YEAR OR birth_date <= export_date - INTERVAL 101 YEAR",
            "'Umur peserta pada tanggal ekspor di luar batas; yang diterima 10 sampai 100 tahun.'"),
    _unknown_code("jenis_kelamin", SEXES, "Jenis kelamin"),
    _unknown_code("segmen", SEGMENTS, "Segmen"),
    RowRule("program_tidak_dikenal", "program",
            f"program <> '' AND NOT regexp_full_match(program_codes, '{_codes_list(PROGRAMS)}')",
            "'Program memuat kode yang tidak dikenal; pilihan: "
            f"{', '.join(PROGRAMS)}, dipisah titik koma.'"),
    RowRule("program_tanpa_jkk_jkm", "program",
            "NOT (contains(';' || program_codes || ';', ';JKK;') AND contains(';' || program_codes || ';', ';JKM;'))",
            "'Program wajib memuat JKK dan JKM.'"),
    RowRule("kode_desa_tidak_dikenal", "kode_desa", "NOT village_known",
            "'Kode desa tidak ada dalam referensi wilayah Kemendagri (format PP.KK.CC.DDDD).'"),
    RowRule("npp_format", "npp", "npp <> '' AND NOT regexp_full_match(npp, '[0-9]{8}')",
            f"'NPP harus 8 digit angka; tertulis ' || {_written('npp')} || '.'"),
    RowRule("npp_wajib", "npp", "segmen IN ('PU', 'JAKON') AND npp = ''",
            "'Peserta segmen ' || segmen || ' wajib mencantumkan NPP pemberi kerja.'"),
    RowRule("npp_terlarang", "npp", "segmen = 'BPU' AND npp <> ''",
            "'Peserta segmen BPU (bukan penerima upah) tidak boleh memiliki NPP.'"),
    _unknown_code("pekerjaan", OCCUPATIONS, "Pekerjaan"),
    _unknown_code("sumber_iuran", FUNDING_SOURCES, "Sumber iuran"),
    # Export v1.1 (award-v2.md section 1): the employer paying a vulnerable worker's contribution as CSR.
    RowRule("npp_pemberi_bantuan_format", "npp_pemberi_bantuan",
            "npp_pemberi_bantuan <> '' AND NOT regexp_full_match(npp_pemberi_bantuan, '[0-9]{8}')",
            "'NPP pemberi bantuan harus 8 digit angka atau kosong; tertulis ' || "
            f"{_written('npp_pemberi_bantuan')} || '.'"),
    RowRule("npp_pemberi_bantuan_terlarang", "npp_pemberi_bantuan",
            "npp_pemberi_bantuan <> '' AND NOT (segmen = 'BPU' AND sumber_iuran = 'CSR')",
            "'NPP pemberi bantuan hanya boleh diisi untuk peserta segmen BPU dengan sumber iuran CSR; "
            "untuk peserta ini kosongkan kolom tersebut.'"),
    RowRule("tanggal_daftar_tidak_valid", "tanggal_daftar", "registration_date IS NULL",
            "'Tanggal daftar bukan tanggal yang valid (format YYYY-MM-DD atau DD/MM/YYYY).'"),
    RowRule("tanggal_daftar_setelah_ekspor", "tanggal_daftar", "registration_date > export_date",
            "'Tanggal daftar sesudah tanggal ekspor ' || export_date || '.'"),
    _unknown_code("status", STATUSES, "Status"),
    RowRule("iuran_terakhir_tidak_valid", "iuran_terakhir", "iuran_terakhir <> '' AND last_paid_period IS NULL",
            "'Iuran terakhir bukan periode YYYY-MM yang valid.'"),
    RowRule("upah_tidak_valid", "upah", "wage IS NULL",
            "'Upah bukan bilangan bulat rupiah >= 0 (contoh: 1500000 atau 1.500.000).'"),
)

IURAN_RULES = (
    MALFORMED,
    RowRule("id_transaksi_format", "id_transaksi", "length(id_transaksi) NOT BETWEEN 1 AND 40",
            "'Kolom id_transaksi wajib diisi, 1 sampai 40 karakter.'"),
    RowRule("id_transaksi_duplikat", "id_transaksi", None,
            "'id_transaksi pembayaran ini ' || CASE WHEN earlier_in_file THEN 'sudah ada di baris sebelumnya' "
            "ELSE 'sudah tercatat dari ekspor sebelumnya' END "
            "|| '; dicatat sebagai duplikat, tidak dihitung dua kali.'"),
    KPJ_FORMAT,
    RowRule("periode_tidak_valid", "periode", "period IS NULL",
            "'Periode bukan periode YYYY-MM yang valid.'"),
    _unknown_code("program", PROGRAMS, "Program"),
    RowRule("jumlah_tidak_valid", "jumlah", "amount IS NULL OR amount <= 0",
            "'Jumlah harus bilangan bulat rupiah lebih dari 0.'"),
    RowRule("tanggal_bayar_tidak_valid", "tanggal_bayar", "payment_date IS NULL",
            "'Tanggal bayar bukan tanggal yang valid.'"),
    RowRule("tanggal_bayar_bukan_tanggal_ekspor", "tanggal_bayar", "payment_date <> export_date",
            "'Tanggal bayar harus sama dengan tanggal ekspor ' || export_date || '.'"),
    _unknown_code("sumber_iuran", FUNDING_SOURCES, "Sumber iuran"),
)


def broken_rule_sql(rules: tuple[RowRule, ...]) -> str:
    """CASE giving the 1-based index of the first broken row rule, NULL for a row that passes them all."""
    whens = "\n".join(f"        WHEN {rule.broken_when} THEN {i}" for i, rule in enumerate(rules, start=1)
                      if rule.broken_when)
    return f"CASE\n{whens}\n    END"


def reason_sql(rules: tuple[RowRule, ...], index_column: str = "broken_rule") -> str:
    whens = "\n".join(f"        WHEN {i} THEN {rule.reason}" for i, rule in enumerate(rules, start=1)
                      if rule.broken_when)
    return f"CASE {index_column}\n{whens}\n    END"


def whole_file_rule(rules: tuple[RowRule, ...]) -> tuple[int, RowRule]:
    """The one rule of a table that needs the whole file, with its 1-based place in the order."""
    ((index, rule),) = [(i, r) for i, r in enumerate(rules, start=1) if r.broken_when is None]
    return index, rule


def names_array_sql(rules: tuple[RowRule, ...], attribute: str) -> str:
    return "ARRAY[" + ", ".join(f"'{getattr(rule, attribute)}'" for rule in rules) + "]::text[]"
