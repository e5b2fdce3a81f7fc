"""The Great Expectations gates on the real warehouse: clean data passes, bad data stops the night with a
message naming the table, the column and the check; warnings are reported without stopping it."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest

from cakupan.gates.quality import QualityGateFailed, run_checkpoint
from cakupan.platform.warehouse import warehouse_url
from cakupan.settings import load_settings
from raw_rows import gate, insert_delivery, insert_peserta

D = dt.date(2026, 11, 20)


def test_clean_night_passes_and_keeps_data_docs(settings, empty_warehouse, tmp_path):
    insert_delivery(empty_warehouse, 1)
    insert_peserta(empty_warehouse, 1)
    insert_peserta(empty_warehouse, 1, kpj="10000000002", nik_hash="b" * 64)
    outcome = gate(settings, tmp_path)
    assert outcome.success and outcome.failed_errors == []
    assert outcome.evaluated > 10
    assert (tmp_path / "docs" / "index.html").is_file()
    assert gate(settings, tmp_path).success  # re-running is idempotent
    # Every run is kept: Data Docs show each suite's history.
    assert len(list((tmp_path / "validations" / "raw_peserta").rglob("*.json"))) == 2


def test_bad_rows_fail_the_gate_with_a_clear_message(settings, empty_warehouse, tmp_path):
    insert_delivery(empty_warehouse, 2)
    insert_peserta(empty_warehouse, 2, kode_desa="13-73-02-2005")
    insert_peserta(empty_warehouse, 2, kpj="10000000002", nik_hash="3273120000000000", segmen="ASN")
    outcome = gate(settings, tmp_path)
    assert not outcome.success
    with pytest.raises(QualityGateFailed) as failure:
        outcome.raise_if_failed()
    message = str(failure.value)
    assert "raw_peserta.kode_desa" in message and "expect_column_values_to_match_regex" in message
    assert "raw_peserta.segmen" in message and "expect_column_values_to_be_in_set" in message
    assert "raw_peserta.nik_hash" in message
    assert "3273120000000000" not in message  # counts only: raw values never reach logs or docs


def test_only_deliveries_awaiting_the_gate_are_checked(settings, empty_warehouse, tmp_path):
    insert_delivery(empty_warehouse, 3, gate_passed=True)
    insert_peserta(empty_warehouse, 3, segmen="ASN")  # an old delivery, through the gate long ago
    insert_delivery(empty_warehouse, 4)
    insert_peserta(empty_warehouse, 4, kpj="10000000002")
    assert gate(settings, tmp_path).success


def test_warning_level_checks_do_not_stop_the_night(settings, empty_warehouse, tmp_path):
    # Ten KPJ of one person: suspicious (warning), not forbidden.
    insert_delivery(empty_warehouse, 5)
    for number in range(10):
        insert_peserta(empty_warehouse, 5, kpj=f"1000000001{number}", row_number=number + 1)
    outcome = gate(settings, tmp_path)
    assert outcome.success
    assert any("nik_hash" in warning for warning in outcome.failed_warnings)


def test_a_check_that_cannot_run_fails_and_says_why(settings, empty_warehouse, tmp_path):
    project = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir, project)
    suite_path = project / "expectations" / "raw_peserta.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "desa"},
                                  "description": "Kolom yang sudah diganti namanya", "severity": "critical"})
    suite_path.write_text(json.dumps(suite))
    insert_delivery(empty_warehouse, 6)
    insert_peserta(empty_warehouse, 6)
    outcome = run_checkpoint("raw", warehouse_url=warehouse_url(settings, "transformer"), expectations_dir=project,
                             results_dir=tmp_path / "validations", data_docs_dir=tmp_path / "docs")
    assert not outcome.success
    [failure] = outcome.failed_errors
    assert failure.startswith("raw_peserta.desa: Kolom yang sudah diganti namanya")
    assert "could not be evaluated" in failure


def test_every_batch_subquery_has_a_name():
    """PostgreSQL 15 refuses a subquery in FROM without an alias, and GX names `{batch}` only in a query without
    a JOIN (expectations/README.md): the other queries must name it themselves, and only they may."""
    for path in sorted((load_settings().expectations_dir / "expectations").glob("*.json")):
        for expectation in json.loads(path.read_text())["expectations"]:
            query = expectation["kwargs"].get("unexpected_rows_query")
            if query is None:
                continue
            named = re.findall(r"\{batch\}\s+AS\s+\w+", query)
            expected = query.count("{batch}") if re.search(r"\bJOIN\b", query, re.IGNORECASE) else 0
            assert len(named) == expected, (path.name, query)
