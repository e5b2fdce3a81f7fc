"""The Paritrana Award rubric (`award/rubric.yml`): read it, check it, and store it for dbt.

The award models hold no weight, target or threshold: they read them from `reference.award_rubric`, which
`store_rubric` fills from the YAML before every dbt build. Changing the file and re-running the night
gives the new scores and ranks. A rubric that cannot be scored fails here, naming the file and the entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml

from cakupan.errors import UserError


@dataclass(frozen=True)
class AwardLevel:
    """How a level's award mart names its entities and ranks them: what reads the marts by level (the what-if)
    takes it from here, so a new level is one entry of AWARD_LEVELS."""
    mart: str
    key: str  # the entity's code, unique within a year
    names: tuple[str, ...]  # the columns reviewers know the entity by, key included, broadest first
    ranks: tuple[str, ...]  # the level's own rank first, then a second tier beside it (rank_national)
    within: tuple[str, ...] = ()  # what the own rank is within (none: nationally)


AWARD_LEVELS = {
    "district": AwardLevel("award_district", "district_code",
                           ("province_code", "province_name", "district_code", "district_name"),
                           ("rank_in_province", "rank_national"), within=("province_code",)),
    "province": AwardLevel("award_province", "province_code", ("province_code", "province_name"),
                           ("rank_national",)),
    "village": AwardLevel("award_village", "village_code",
                          ("province_code", "province_name", "district_code", "district_name", "village_code",
                           "village_name"), ("rank_in_province", "rank_national"), within=("province_code",)),
    # Businesses compete within their province and size class, at both tiers (award-v2.md section 4).
    "employer": AwardLevel("award_employer", "npp",
                           ("province_code", "province_name", "size_class", "npp", "employer_name"),
                           ("rank_in_province", "rank_national"), within=("province_code", "size_class")),
}
LEVELS = tuple(AWARD_LEVELS)
# A rubric from before the business category (award-v2.md section 4) may leave it out: no employer is then
# eligible, and the other levels score as before.
OPTIONAL_LEVELS = ("employer",)
NORMALISATIONS = ("max", "min_max", "share")
_ELIGIBILITY_KEYS = {"min_coverage_rate", "min_vulnerable_persons", "min_workforce", "min_covered_workers"}
_INDICATOR = re.compile(r"[a-z][a-z0-9_]*")


class RubricError(UserError, ValueError):
    pass


def _number(value, where: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise RubricError(f"{where}: {value!r} is not a number >= {minimum:g}")
    return float(value)


def read_rubric(path: Path) -> dict:
    """The rubric as plain data, after checking everything the award models rely on."""
    try:
        rubric = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RubricError(f"{path}: cannot read the rubric: {error}") from error
    if not isinstance(rubric, dict) or not str(rubric.get("version") or "").strip():
        raise RubricError(f"{path}: needs a `version` (bump it on every change: award rows record it)")

    targets = rubric.get("coverage_targets") or {}
    for year, rate in targets.items():
        if not isinstance(year, int):
            raise RubricError(f"{path}: coverage_targets: {year!r} is not a year")
        if _number(rate, f"{path}: coverage_targets.{year}") > 1:
            raise RubricError(f"{path}: coverage_targets.{year}: {rate} is a fraction (0.45), not a percentage")

    eligibility = rubric.get("eligibility") or {}
    for level, rules in eligibility.items():
        if level not in LEVELS or not isinstance(rules, dict) or set(rules) - _ELIGIBILITY_KEYS:
            raise RubricError(f"{path}: eligibility.{level}: expected a level of {LEVELS} with keys "
                              f"{sorted(_ELIGIBILITY_KEYS)}")
        for key, value in rules.items():
            _number(value, f"{path}: eligibility.{level}.{key}")

    indicators = rubric.get("indicators") or {}
    for level in LEVELS:
        entries = indicators.get(level) or []
        if not entries and level in OPTIONAL_LEVELS:
            continue
        if not entries:
            raise RubricError(f"{path}: indicators.{level}: at least one indicator is needed to score a {level}")
        named: set[str] = set()
        for number, entry in enumerate(entries, start=1):
            where = f"{path}: indicators.{level}[{number}]"
            if not isinstance(entry, dict) or not _INDICATOR.fullmatch(str(entry.get("indicator", ""))):
                raise RubricError(f"{where}: needs `indicator`, a column name of the {level} indicators")
            if entry["indicator"] in named:
                raise RubricError(f"{where}: {entry['indicator']} is named twice; give it one entry with the "
                                  "weight of both")
            named.add(entry["indicator"])
            _number(entry.get("weight"), f"{where}.weight")
            if entry.get("normalisation") not in NORMALISATIONS:
                raise RubricError(f"{where}.normalisation: {entry.get('normalisation')!r} is not one of "
                                  f"{', '.join(NORMALISATIONS)}")
        if sum(entry["weight"] for entry in entries) <= 0:
            raise RubricError(f"{path}: indicators.{level}: the weights add up to 0")
    return rubric


def store_rubric(conn: psycopg.Connection, rubric: dict) -> None:
    """Replace the rubric the award models read (one row: the rubric now in force). The same rubric again
    leaves the row as it is: loaded_at says since when it is in force, and the reference layer is not
    rebuilt for nothing (reference_layer.py)."""
    conn.execute(
        "INSERT INTO reference.award_rubric AS stored (version, rubric) VALUES (%s, %s::jsonb) "
        "ON CONFLICT (only_row) DO UPDATE SET version = excluded.version, rubric = excluded.rubric, "
        "loaded_at = now() "
        "WHERE (stored.version, stored.rubric) IS DISTINCT FROM (excluded.version, excluded.rubric)",
        (str(rubric["version"]), json.dumps(rubric)),
    )
