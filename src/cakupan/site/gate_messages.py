"""The quality gates' failures and warnings in both languages, for the reviewers' site.

`audit.gate_results` keeps each failure or warning as one line of text. The GX gates write it in
`cakupan.gates.quality._describe`'s form, `{suite}.{column}: {description} [{expectation type}] ({detail})`:
the description is the suite's, in Bahasa Indonesia, and the detail is English ("3 rows break it, e.g. [...]").
The English of each description lives beside it in its suite, as `meta.description_en`, and nowhere else;
the detail's few phrases are given in Indonesian here. Any other text (dbt's warnings name tests and files)
is shown as it is in both languages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from cakupan.site.rendering import Bilingual

# The description is matched lazily, up to the first ` [type] (`: a description may hold a colon (only the
# first `: ` ends the suite and column), and the detail's example values may hold anything, brackets included.
GX_GATE_LINE = re.compile(
    r"(?P<checked>[\w.]+): (?P<description>.+?) \[(?P<expectation_type>\w+)\] \((?P<detail>.*)\)", re.DOTALL)

# The detail's opening phrase in English (as _describe words it) and in Indonesian; what follows the phrase
# (counts, example values, observed values, GX's own error message) is data and stays as it is.
INDONESIAN_DETAIL_OPENINGS = (
    (re.compile(r"(\d+) rows break it, e\.g\. "), r"\1 baris melanggar, mis. "),
    (re.compile(r"(\d+) rows break it\Z"), r"\1 baris melanggar"),
    (re.compile(r"observed "), "teramati "),
    (re.compile(r"could not be evaluated: "), "tidak dapat dievaluasi: "),
    (re.compile(r"see Data Docs\Z"), "lihat Data Docs"),
)


def english_descriptions(expectations_dir: Path) -> dict[str, str]:
    """Each check's Indonesian description and its English (`meta.description_en`), from the suites of the GX
    project in `expectations_dir` (settings.expectations_dir). A check without an English description is left
    out, so its messages keep the Indonesian one in English too."""
    english: dict[str, str] = {}
    for suite in sorted((expectations_dir / "expectations").glob("*.json")):
        for expectation in json.loads(suite.read_text(encoding="utf-8"))["expectations"]:
            description = expectation.get("description")
            translation = (expectation.get("meta") or {}).get("description_en")
            if description and translation:
                english.setdefault(description, translation)
    return english


def gate_message(text: str, english_descriptions: Mapping[str, str]) -> Bilingual:
    """One stored gate failure or warning in both languages: in English with the check's English description,
    in Indonesian with the detail's phrases in Indonesian. Suite, column, expectation type and values are
    names and data, the same in both."""
    line = GX_GATE_LINE.fullmatch(text)
    if line is None:
        return Bilingual(text, text)
    checked, description, expectation_type, detail = line.group("checked", "description", "expectation_type",
                                                                "detail")
    english = english_descriptions.get(description, description)
    return Bilingual(f"{checked}: {description} [{expectation_type}] ({_indonesian_detail(detail)})",
                     f"{checked}: {english} [{expectation_type}] ({detail})")


def _indonesian_detail(detail: str) -> str:
    for english_opening, indonesian_opening in INDONESIAN_DETAIL_OPENINGS:
        opening = english_opening.match(detail)
        if opening:
            return opening.expand(indonesian_opening) + detail[opening.end():]
    return detail
