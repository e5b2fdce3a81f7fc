"""Every check of the GX suites says what it checks in both languages: `description` in Bahasa Indonesia (in
Data Docs and the failures the gates record) and `meta.description_en`, which the reviewers' site shows in
English mode. The suites are the only place either is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

SUITES = sorted((Path(__file__).resolve().parents[2] / "expectations" / "expectations").glob("*.json"))
# Descriptions made only of codes and names read the same in both languages; none is so far.
IDENTICAL_BY_NATURE: frozenset[str] = frozenset()


def expectations() -> list[tuple[str, dict]]:
    return [(path.stem, expectation) for path in SUITES
            for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]]


def test_every_check_has_an_english_description():
    assert len(SUITES) > 10
    for suite, expectation in expectations():
        indonesian = expectation.get("description") or ""
        english = expectation.get("meta", {}).get("description_en") or ""
        assert indonesian.strip() and english.strip() == english and english, (suite, expectation)
        assert english != indonesian or indonesian in IDENTICAL_BY_NATURE, (suite, indonesian)


def test_a_description_has_one_english_wording():
    """The site finds a failure's English by its Indonesian description, whichever suite it came from."""
    wordings: dict[str, set[str]] = {}
    for _, expectation in expectations():
        wordings.setdefault(expectation["description"], set()).add(expectation["meta"]["description_en"])
    assert {indonesian: english for indonesian, english in wordings.items() if len(english) > 1} == {}


def test_a_description_never_reads_like_the_end_of_one():
    """In a recorded failure the description ends at ` [expectation type] (`: one holding that would be cut."""
    for suite, expectation in expectations():
        assert not re.search(r" \[\w+\] \(", expectation["description"]), suite
