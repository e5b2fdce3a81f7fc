"""The contract's code lists are written once, as CSV files of the package (src/cakupan/ingest/code_lists/): the
loader reads them (cakupan.ingest.export_contract), dbt loads them as seeds for the lookup marts. This checks that
they say what the contract says, and that the lists written elsewhere (the counting rule of vulnerable workers, the
GX suites) agree with them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cakupan.ingest.export_contract import FUNDING_SOURCES, OCCUPATIONS, PROGRAMS, SEGMENTS

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = (ROOT / "docs" / "contracts" / "branch-export-v1.md").read_text()
COUNTING_RULES = (ROOT / "dbt_project" / "macros" / "counting_rules.sql").read_text()
CODE = re.compile(r"`([A-Z][A-Z_]*)`")


def contract_codes(column: str) -> tuple[str, ...]:
    """The codes of a column of the contract's `peserta` table (section 3), in its order."""
    row = re.search(rf"^\| {column} \|(.*)$", CONTRACT, re.M)
    return tuple(CODE.findall(row.group(1).split("|")[0]))


def test_the_code_lists_are_the_contracts():
    assert contract_codes("segmen") == SEGMENTS == ("PU", "BPU", "JAKON", "PMI")
    assert contract_codes("program") == PROGRAMS
    assert contract_codes("pekerjaan") == OCCUPATIONS
    assert contract_codes("sumber_iuran") == FUNDING_SOURCES


def test_the_vulnerable_worker_rule_names_the_contracts_funding_sources():
    sentence = re.search(r"^Vulnerable worker \(pekerja rentan\): (.*)$", CONTRACT, re.M).group(1)
    assert sentence.startswith("a `BPU` participant whose `sumber_iuran` is ")
    in_contract = CODE.findall(sentence.split(" is ", 1)[1])
    macro = re.search(r"macro vulnerable_funding_sources\(\) -%}\s*\(([^)]*)\)", COUNTING_RULES).group(1)
    assert re.findall(r"'(\w+)'", macro) == in_contract
    assert set(in_contract) < set(FUNDING_SOURCES)


def test_the_gx_suites_allow_the_same_codes():
    lists = {"segmen": SEGMENTS, "segment": SEGMENTS, "program": PROGRAMS, "pekerjaan": OCCUPATIONS,
             "sumber_iuran": FUNDING_SOURCES, "funding_source": FUNDING_SOURCES, "occupation": OCCUPATIONS}
    checked = 0
    for suite in sorted((ROOT / "expectations" / "expectations").glob("*.json")):
        for expectation in json.loads(suite.read_text())["expectations"]:
            column, values = expectation["kwargs"].get("column"), expectation["kwargs"].get("value_set")
            if values is not None and column in lists:
                assert tuple(values) == lists[column], (suite.name, column)
                checked += 1
    assert checked >= 6
