"""The gates' failures and warnings on the reviewers' site: in English mode nothing is left in Indonesian but
names and values, in Indonesian mode nothing in English; a text the site cannot read is shown as it is."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from cakupan.gates.quality import _describe
from cakupan.site.gate_messages import english_descriptions, gate_message
from cakupan.site.rendering import Bilingual

PROJECT_EXPECTATIONS = Path(__file__).resolve().parents[2] / "expectations"
ENGLISH = {
    "Rasio cakupan antara 0 dan 1": "Coverage rate between 0 and 1",
    "KPJ 11 digit": "KPJ of 11 digits",
    "Setiap ekspor memuat minimal satu peserta": "Every export holds at least one participant",
    "Total provinsi sama dengan total kabupaten/kota": "Province totals equal the district totals",
    "Uji gerbang: 39 provinsi": "Gate test: 39 provinces",
    "Kolom yang sudah diganti namanya": "A column since renamed",
}


@pytest.mark.parametrize(("stored", "indonesian", "english"), [
    ("marts_coverage_district.coverage_rate: Rasio cakupan antara 0 dan 1 [expect_column_values_to_be_between] "
     "(2 rows break it, e.g. [1.2, 1.5, 3.0])",
     "marts_coverage_district.coverage_rate: Rasio cakupan antara 0 dan 1 [expect_column_values_to_be_between] "
     "(2 baris melanggar, mis. [1.2, 1.5, 3.0])",
     "marts_coverage_district.coverage_rate: Coverage rate between 0 and 1 [expect_column_values_to_be_between] "
     "(2 rows break it, e.g. [1.2, 1.5, 3.0])"),
    # The raw checkpoint keeps no example values.
    ("raw_peserta.kpj: KPJ 11 digit [expect_column_values_to_match_regex] (3 rows break it)",
     "raw_peserta.kpj: KPJ 11 digit [expect_column_values_to_match_regex] (3 baris melanggar)",
     "raw_peserta.kpj: KPJ of 11 digits [expect_column_values_to_match_regex] (3 rows break it)"),
    ("raw_peserta: Setiap ekspor memuat minimal satu peserta [expect_table_row_count_to_be_between] (observed 0)",
     "raw_peserta: Setiap ekspor memuat minimal satu peserta [expect_table_row_count_to_be_between] (teramati 0)",
     "raw_peserta: Every export holds at least one participant [expect_table_row_count_to_be_between] "
     "(observed 0)"),
    ("marts_coverage_province: Total provinsi sama dengan total kabupaten/kota [unexpected_rows_expectation] "
     "(see Data Docs)",
     "marts_coverage_province: Total provinsi sama dengan total kabupaten/kota [unexpected_rows_expectation] "
     "(lihat Data Docs)",
     "marts_coverage_province: Province totals equal the district totals [unexpected_rows_expectation] "
     "(see Data Docs)"),
    # GX's own message stays as GX wrote it, colons, brackets and all.
    ('raw_peserta.desa: Kolom yang sudah diganti namanya [expect_column_values_to_not_be_null] (could not be '
     'evaluated: Error: The column "desa" in BatchData does not exist. [desa] (x))',
     'raw_peserta.desa: Kolom yang sudah diganti namanya [expect_column_values_to_not_be_null] (tidak dapat '
     'dievaluasi: Error: The column "desa" in BatchData does not exist. [desa] (x))',
     'raw_peserta.desa: A column since renamed [expect_column_values_to_not_be_null] (could not be '
     'evaluated: Error: The column "desa" in BatchData does not exist. [desa] (x))'),
    # A description with a colon of its own: only the first `: ` ends the suite's name.
    ("marts_coverage_province: Uji gerbang: 39 provinsi [expect_table_row_count_to_equal] (observed 38)",
     "marts_coverage_province: Uji gerbang: 39 provinsi [expect_table_row_count_to_equal] (teramati 38)",
     "marts_coverage_province: Gate test: 39 provinces [expect_table_row_count_to_equal] (observed 38)"),
    # Values that read like the detail's phrases are data, not words to translate.
    ("raw_peserta.kpj: KPJ 11 digit [expect_column_values_to_match_regex] "
     "(2 rows break it, e.g. ['observed 5', 'see Data Docs'])",
     "raw_peserta.kpj: KPJ 11 digit [expect_column_values_to_match_regex] "
     "(2 baris melanggar, mis. ['observed 5', 'see Data Docs'])",
     "raw_peserta.kpj: KPJ of 11 digits [expect_column_values_to_match_regex] "
     "(2 rows break it, e.g. ['observed 5', 'see Data Docs'])"),
])
def test_a_gx_failure_in_both_languages(stored, indonesian, english):
    assert gate_message(stored, ENGLISH) == Bilingual(indonesian, english)


def test_a_check_without_english_keeps_its_indonesian_description():
    stored = "raw_iuran.jumlah: Jumlah iuran lebih dari 0 [expect_column_values_to_be_between] (1 rows break it)"
    assert gate_message(stored, ENGLISH) == Bilingual(
        "raw_iuran.jumlah: Jumlah iuran lebih dari 0 [expect_column_values_to_be_between] (1 baris melanggar)",
        stored)


def test_a_check_without_description_is_named_by_its_type():
    stored = "raw_peserta: expect_table_row_count_to_equal [expect_table_row_count_to_equal] (observed 0)"
    assert gate_message(stored, ENGLISH) == Bilingual(
        "raw_peserta: expect_table_row_count_to_equal [expect_table_row_count_to_equal] (teramati 0)", stored)


@pytest.mark.parametrize("stored", [
    # dbt's warnings, as dbt_runner keeps them: a test's name and file.
    "test accepted_values_stg_participants_segment__PU__BPU (models/staging/schema.yml)",
    "model.cakupan.int_branch_freshness: 3 branches stale",
    "",
])
def test_a_text_not_from_gx_is_the_same_in_both_languages(stored):
    assert gate_message(stored, ENGLISH) == Bilingual(stored, stored)


def expectation_result(description, expectation_type, column=None, result=None, exception_message=None):
    """A failed GX expectation result, as much of one as quality._describe reads."""
    exception_info = ({"raised_exception": True, "exception_message": exception_message}
                      if exception_message else {})
    config = SimpleNamespace(kwargs={"column": column} if column else {}, description=description,
                             type=expectation_type)
    return SimpleNamespace(expectation_config=config, result=result or {}, exception_info=exception_info)


def test_what_the_gx_gate_writes_is_read_back():
    """Tied to quality._describe itself, so a change of its wording shows here rather than on the site."""
    written = [
        _describe("marts_coverage_district", expectation_result(
            "Rasio cakupan antara 0 dan 1", "expect_column_values_to_be_between", "coverage_rate",
            {"unexpected_count": 2, "partial_unexpected_list": [1.2, 1.5, 3.0, 4.0]})),
        _describe("raw_peserta", expectation_result(
            "Setiap ekspor memuat minimal satu peserta", "expect_table_row_count_to_be_between",
            result={"observed_value": 0})),
        _describe("raw_peserta", expectation_result(
            "Kolom yang sudah diganti namanya", "expect_column_values_to_not_be_null", "desa",
            exception_message='The column "desa" does not exist.\nTraceback follows')),
        _describe("marts_coverage_province", expectation_result(
            "Uji gerbang: 39 provinsi", "unexpected_rows_expectation")),
    ]
    assert [gate_message(text, ENGLISH) for text in written] == [
        Bilingual("marts_coverage_district.coverage_rate: Rasio cakupan antara 0 dan 1 "
                  "[expect_column_values_to_be_between] (2 baris melanggar, mis. [1.2, 1.5, 3.0])",
                  "marts_coverage_district.coverage_rate: Coverage rate between 0 and 1 "
                  "[expect_column_values_to_be_between] (2 rows break it, e.g. [1.2, 1.5, 3.0])"),
        Bilingual("raw_peserta: Setiap ekspor memuat minimal satu peserta [expect_table_row_count_to_be_between] "
                  "(teramati 0)",
                  "raw_peserta: Every export holds at least one participant [expect_table_row_count_to_be_between] "
                  "(observed 0)"),
        Bilingual('raw_peserta.desa: Kolom yang sudah diganti namanya [expect_column_values_to_not_be_null] '
                  '(tidak dapat dievaluasi: The column "desa" does not exist.)',
                  'raw_peserta.desa: A column since renamed [expect_column_values_to_not_be_null] '
                  '(could not be evaluated: The column "desa" does not exist.)'),
        Bilingual("marts_coverage_province: Uji gerbang: 39 provinsi [unexpected_rows_expectation] "
                  "(lihat Data Docs)",
                  "marts_coverage_province: Gate test: 39 provinces [unexpected_rows_expectation] (see Data Docs)"),
    ]


def write_suite(project: Path, name: str, expectations: list[dict]) -> None:
    suites = project / "expectations"
    suites.mkdir(parents=True, exist_ok=True)
    (suites / f"{name}.json").write_text(json.dumps({"name": name, "expectations": expectations}, indent=2))


def test_english_descriptions_come_from_the_suites(tmp_path):
    write_suite(tmp_path, "raw_iuran", [
        {"type": "expect_column_values_to_be_unique", "description": "Setiap pembayaran dihitung sekali",
         "meta": {"description_en": "Every payment counted once"}},
        # A check added without an English description (as tests and data engineers add them) is left out.
        {"type": "expect_table_row_count_to_equal", "description": "Uji gerbang: 39 provinsi"},
        {"type": "expect_column_values_to_not_be_null", "description": "Periode terisi", "meta": {}},
        {"type": "expect_column_values_to_not_be_null"},
    ])
    write_suite(tmp_path, "raw_peserta", [
        {"type": "expect_column_values_to_match_regex", "description": "KPJ 11 digit",
         "meta": {"description_en": "KPJ of 11 digits"}},
    ])
    assert english_descriptions(tmp_path) == {"Setiap pembayaran dihitung sekali": "Every payment counted once",
                                              "KPJ 11 digit": "KPJ of 11 digits"}


def test_the_projects_checks_read_in_english():
    english = english_descriptions(PROJECT_EXPECTATIONS)
    stored = ("marts_coverage_district.coverage_rate: Rasio cakupan di atas 90% patut diperiksa (penyebut "
              "penduduk bekerja mungkin usang) [expect_column_values_to_be_between] (1 rows break it, e.g. [0.93])")
    assert gate_message(stored, english).english == (
        "marts_coverage_district.coverage_rate: A coverage rate above 90% deserves a look (the employed-population "
        "denominator may be out of date) [expect_column_values_to_be_between] (1 rows break it, e.g. [0.93])")
