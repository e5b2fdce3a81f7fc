"""What another rubric would give (`cakupan award what-if`, contract award-v2 section 5): every award level scored
and ranked with it, next to the published rows, without changing `marts` or the rubric in force.

The scoring is the award models' own, not a copy: the models read the rubric only through staging views over
`reference.award_rubric` (checked from dbt's manifest before anything runs). So in one transaction the
alternative rubric replaces the stored one, each award model's compiled SELECT runs on the intermediate tables
the latest night left, and the transaction is rolled back: nobody else ever sees the alternative, and `marts`
is not written at all. The models' post-hook (award_keep_finalised) is not part of the compiled SELECT: a
finalised year shows what the alternative would give, not the frozen rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from cakupan.errors import UserError
from cakupan.platform import db
from cakupan.publish import publication
from cakupan.settings import Settings
from cakupan.transform.award_rubric import AWARD_LEVELS, AwardLevel, read_rubric, store_rubric
from cakupan.transform.dbt_runner import DbtFailed, run_dbt

# How long the what-if waits for a lock a night holds (a night rebuilding the intermediate tables or storing its
# rubric) before giving up: a night is never held up for longer than this by a report.
LOCK_TIMEOUT = "5s"
RUBRIC_SOURCE = "source.cakupan.reference.award_rubric"
# Materialisations whose SQL is read at query time: the rubric stored in the transaction reaches the model.
_SEES_THE_RUBRIC_NOW = ("view", "ephemeral")


class WhatIfRefused(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class LevelWhatIf:
    level: str
    columns: list[str]  # the report's columns, in order
    rows: list[dict]  # one per entity: names, eligible, score and ranks now and with the alternative, change

    @property
    def moved(self) -> list[dict]:
        """The entities whose own rank differs (into or out of the ranking too), biggest changes first."""
        rank = AWARD_LEVELS[self.level].ranks[0]
        return sorted((row for row in self.rows if row[f"{rank}_now"] != row[f"{rank}_alt"]),
                      key=lambda row: -abs(row["change"] or 0))


@dataclass(frozen=True)
class WhatIf:
    year: int
    rubric_now: str  # the published rows' rubric version(s)
    rubric_alt: str
    final: bool  # the year is signed off: its published rows are frozen
    levels: list[LevelWhatIf]


def published_years(conn: psycopg.Connection) -> list[int]:
    """The years with published award rows, in any level's mart."""
    marts = [level.mart for level in AWARD_LEVELS.values() if _published(conn, level)]
    if not marts:
        return []
    union = sql.SQL(" UNION ").join(sql.SQL("SELECT DISTINCT year FROM {}").format(
        sql.Identifier(publication.PUBLISHED, mart)) for mart in marts)
    return [year for (year,) in conn.execute(sql.SQL("SELECT year FROM ({}) AS years ORDER BY year").format(union))]


def _published(conn: psycopg.Connection, level: AwardLevel) -> bool:
    return conn.execute("SELECT to_regclass(%s)", (f"{publication.PUBLISHED}.{level.mart}",)).fetchone()[0] is not None


def compiled_selects(settings: Settings, snapshot_date: dt.date) -> dict[str, str]:
    """Each award model's SELECT as dbt compiles it, in a target folder of its own (a night may be compiling
    into the usual one). Refuses when a model would read the rubric through anything but views: the rubric
    stored in the what-if's transaction would not reach it, and the 'alternative' scores would be today's."""
    target = settings.home / "dbt" / "target-what-if"
    try:
        run_dbt(settings, ["compile", "--select", *(level.mart for level in AWARD_LEVELS.values())], snapshot_date,
                log=logging.getLogger("cakupan.dbt").debug, target_path=target)
    except DbtFailed as error:  # a user's command: one line saying why, not a traceback
        raise WhatIfRefused(f"dbt could not compile the award models: {error}") from error
    manifest = json.loads((target / "manifest.json").read_text())
    models = {f"model.cakupan.{level.mart}": name for name, level in AWARD_LEVELS.items()}
    reached, queue = set(), [RUBRIC_SOURCE]
    while queue:
        for child in manifest["child_map"].get(queue.pop(), []):
            if child.startswith("model.") and child not in models and child not in reached:
                reached.add(child)
                queue.append(child)
    for node in sorted(reached):
        if manifest["nodes"][node]["config"]["materialized"] not in _SEES_THE_RUBRIC_NOW:
            raise WhatIfRefused(f"{node} holds what it read of reference.award_rubric in a table: a what-if would "
                                "score with the rubric in force, not the alternative. Make it a view.")
    return {models[node]: manifest["nodes"][node]["compiled_code"] for node in models}


def what_if(settings: Settings, rubric_file: Path, year: int) -> WhatIf:
    """Score and rank year `year` of every award level with the rubric in `rubric_file`, beside the published
    rows (see the module's docstring). Raises RubricError for a rubric that cannot be scored, WhatIfRefused for
    a year without published award rows or when a night holds the award tables for longer than LOCK_TIMEOUT."""
    rubric = read_rubric(rubric_file)
    with db.connect(settings, "transformer") as conn:
        years = published_years(conn)
        if year not in years:
            have = ", ".join(map(str, years)) if years else "none: nothing is published yet (run a night first)"
            raise WhatIfRefused(f"marts has no award rows of {year}. Award years published: {have}.")
        published = conn.execute("SELECT max(snapshot_date) FROM audit.publications").fetchone()[0]
        levels = {name: level for name, level in AWARD_LEVELS.items() if _published(conn, level)}
        now = {name: _rows(conn, sql.SQL("SELECT * FROM {} WHERE year = {}").format(
            sql.Identifier(publication.PUBLISHED, level.mart), sql.Literal(year))) for name, level in levels.items()}
        final = conn.execute("SELECT 1 FROM audit.award_finalisations WHERE year = %s AND superseded_at IS NULL",
                             (year,)).fetchone() is not None
    selects = compiled_selects(settings, published)
    with db.connect(settings, "transformer") as conn, conn.transaction(force_rollback=True):
        # Rolled back whatever happens: the alternative rubric is seen by this transaction only.
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        try:
            store_rubric(conn, rubric)
            alt = {name: _rows(conn, sql.SQL("SELECT * FROM ({}\n) AS what_if WHERE year = {}").format(
                sql.SQL(selects[name]), sql.Literal(year))) for name in levels}
        except psycopg.errors.LockNotAvailable as error:
            raise WhatIfRefused(
                f"A night is rebuilding the award's tables (waited {LOCK_TIMEOUT} for them, so as not to hold it "
                "up): run the what-if again once the night has ended.") from error
    versions = sorted({row["rubric_version"] for rows in now.values() for row in rows})
    return WhatIf(year, ", ".join(versions), str(rubric["version"]), final,
                  [_compare(name, level, now[name], alt[name], str(rubric["version"]))
                   for name, level in levels.items()])


def _rows(conn: psycopg.Connection, query: sql.Composable) -> list[dict]:
    cursor = conn.execute(query)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _compare(name: str, level: AwardLevel, now: list[dict], alt: list[dict], alt_version: str) -> LevelWhatIf:
    """One row per entity of either side: its names, then eligible, score and ranks now and with the alternative,
    the change of its own rank (now - alternative: positive moves up) and the rubric versions."""
    measures = ["eligible", "score", *level.ranks]
    columns = [*level.names, *(f"{m}_now" for m in measures), *(f"{m}_alt" for m in measures), "change",
               "rubric_version_now", "rubric_version_alt"]
    by_key = {side: {row[level.key]: row for row in rows} for side, rows in (("now", now), ("alt", alt))}
    rows = []
    for key in sorted(by_key["now"].keys() | by_key["alt"].keys()):
        named = by_key["now"].get(key) or by_key["alt"][key]
        row = {column: named[column] for column in level.names}
        for side in ("now", "alt"):
            scored = by_key[side].get(key, {})
            row.update({f"{m}_{side}": scored.get(m) for m in measures})
        rank_now, rank_alt = row[f"{level.ranks[0]}_now"], row[f"{level.ranks[0]}_alt"]
        row["change"] = rank_now - rank_alt if rank_now is not None and rank_alt is not None else None
        row["rubric_version_now"] = by_key["now"].get(key, {}).get("rubric_version")
        row["rubric_version_alt"] = alt_version
        rows.append(row)
    # Reviewers read a ranking: grouped by what it is within, best with the alternative first.
    rank = level.ranks[0]
    rows.sort(key=lambda row: (tuple(row[column] for column in level.within), rank_or_last(row[f"{rank}_alt"]),
                               rank_or_last(row[f"{rank}_now"]), row[level.key]))
    return LevelWhatIf(name, columns, rows)


def summary(result: WhatIf, biggest: int = 3) -> list[str]:
    """A line per level: how many entities change rank, and the biggest movers with their ranks now -> then."""
    lines = [f"Award {result.year}{' (final)' if result.final else ''}: rubric {result.rubric_now} now, "
             f"{result.rubric_alt} in the what-if."]
    for level in result.levels:
        described = AWARD_LEVELS[level.level]
        rank = described.ranks[0]
        movers = ", ".join(f"{row[described.names[-1]]} {row[f'{rank}_now'] or '-'} -> {row[f'{rank}_alt'] or '-'}"
                           for row in level.moved[:biggest])
        lines.append(f"  {level.level}: {len(level.moved)} of {len(level.rows)} change {rank}"
                     + (f"; biggest: {movers}" if movers else ""))
    return lines


def rank_or_last(rank: int | None) -> float:
    return float("inf") if rank is None else rank
