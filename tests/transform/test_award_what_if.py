"""`cakupan award what-if`: another rubric scores and ranks every award level by the award models' own SQL, the
ranks worked out by hand for the small night; every published mart and the rubric in force stay byte for byte
as they were; the report lands in the reviewers' site, which keeps it and links it; clear refusals for a year
without award rows, a rubric that cannot be scored and a night holding the tables."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from cakupan.cli import main as cakupan
from cakupan.orchestration.dag_run import run_nightly
from cakupan.settings import load_settings
from cakupan.site.review_site import SiteContext, build_review_pages
from cakupan.transform import award_what_if
from small_night_figures import D

pytestmark = pytest.mark.slow

YEAR = D.year
# Districts ranked by their employed population alone (Agam 125,000 beats Sawahlunto 28,000); provinces need a
# coverage rate of 0.0001, which Sumatera Barat's 0.000059 is not; villages by covered persons alone; businesses
# by their full-programme share alone, among those with a covered worker.
ALTERNATIVE = """version: small-night-what-if
coverage_targets: {2026: 0.0002}
eligibility:
  district: {min_coverage_rate: 0}
  province: {min_coverage_rate: 0.0001}
  village: {min_vulnerable_persons: 1}
  employer: {min_workforce: 1, min_covered_workers: 1}
indicators:
  district:
    - {indicator: employed_population, weight: 1, normalisation: max}
  province:
    - {indicator: coverage_rate, weight: 1, normalisation: max}
  village:
    - {indicator: vulnerable_target_progress, weight: 0, normalisation: share}
    - {indicator: covered_persons, weight: 40, normalisation: max}
  employer:
    - {indicator: full_program_share, weight: 1, normalisation: share}
"""


def marts_fingerprint(conn) -> dict[str, tuple]:
    """Every relation of marts: its kind, its storage (a rebuilt table gets a new one) and the md5 of its rows."""
    relations = conn.execute("SELECT c.relname, c.relkind, c.relfilenode FROM pg_class c "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'v', 'm') ORDER BY 1").fetchall()
    return {name: (kind, node, conn.execute(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM marts.{name} t"
    ).fetchone()) for name, kind, node in relations}


def rubric_row(conn) -> tuple:
    return conn.execute("SELECT xmin::text, version, rubric::text, loaded_at FROM reference.award_rubric").fetchone()


def ranked(path, ranks: tuple[str, ...], code: str | None = None) -> list[tuple]:
    """The report's rows ranked now or with the alternative, by code: (code, score now, ranks now, score alt,
    ranks alt, change)."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    # The entity's own code: the names go broadest first.
    code = code or [column for column in rows[0] if column.endswith("_code")][-1]
    return sorted((row[code], row["score_now"], *(row[f"{r}_now"] for r in ranks), row["score_alt"],
             *(row[f"{r}_alt"] for r in ranks), row["change"])
            for row in rows if row["score_now"] or row["score_alt"])


def test_what_if_ranks_with_another_rubric_and_changes_nothing(night, empty_warehouse, tmp_path, monkeypatch,
                                                              capsys):
    conn = empty_warehouse
    assert run_nightly(night, D, docs=False).succeeded
    alternative = tmp_path / "alternative.yml"
    alternative.write_text(ALTERNATIVE)
    marts_before, rubric_before = marts_fingerprint(conn), rubric_row(conn)

    assert cakupan(["award", "what-if", "--rubric", str(alternative), "--year", str(YEAR - 1)]) == 1
    assert f"cakupan: error: marts has no award rows of {YEAR - 1}. Award years published: {YEAR}." \
        in capsys.readouterr().err

    assert cakupan(["award", "what-if", "--rubric", str(alternative), "--year", str(YEAR)]) == 0
    out = capsys.readouterr().out
    report = night.docs_dir / "what-if" / str(YEAR)
    assert "district: 2 of 514 change rank_in_province; biggest: Kabupaten Agam 2 -> 1, Kota Sawahlunto 1 -> 2" in out
    assert "province: 1 of 38 change rank_national; biggest: Sumatera Barat 1 -> -" in out
    assert "village: 0 of 83762 change rank_in_province" in out
    assert "employer: 5 of 8 change rank_in_province" in out
    assert str(report / "index.html") in out and "Nothing was published." in out

    # Districts: employed population / the largest (Agam's): Agam 100, Sawahlunto 28,000 / 125,000 = 22.40; Agam
    # wins Sumatera Barat and the national tier. Pekanbaru (no employed population) is not eligible either way.
    district = ("rank_in_province", "rank_national")
    assert ranked(report / f"award_district_what_if_{YEAR}.csv", district) == [
        ("13.06", "3.20", "2", "", "100.00", "1", "1", "1"),
        ("13.73", "50.81", "1", "1", "22.40", "2", "", "-1"),
    ]
    # Provinces: Sumatera Barat drops out of the ranking (no change to state: it has no rank with the alternative).
    assert ranked(report / f"award_province_what_if_{YEAR}.csv", ("rank_national",)) == [
        ("13", "100.00", "1", "", "", ""),
    ]
    # Villages: covered persons / 5 (village A) x 40 of 40: G and C 40, A 100, P 60: new scores, the same ranks.
    assert ranked(report / f"award_village_what_if_{YEAR}.csv", district) == [
        ("13.06.01.2001", "36.00", "2", "", "40.00", "2", "", "0"),
        ("13.73.01.1001", "100.00", "1", "1", "100.00", "1", "1", "0"),
        ("13.73.02.2005", "36.00", "2", "", "40.00", "2", "", "0"),
        ("14.71.01.1002", "44.00", "1", "2", "60.00", "1", "2", "0"),
    ]
    # Businesses, within province and size class: only 12345678 has a full-programme worker (100); 23456789 and
    # 45678901 tie at 0 in Sumatera Barat's small class and are both its winners; without a covered worker,
    # 45678902, 87654321 and 98765432 leave the ranking.
    assert ranked(report / f"award_employer_what_if_{YEAR}.csv", district, code="npp") == [
        ("12345678", "0.05", "2", "", "100.00", "1", "1", "1"),
        ("23456789", "15.00", "2", "", "0.00", "1", "1", "1"),
        ("34567890", "0.40", "1", "1", "0.00", "1", "1", "0"),
        ("45678901", "30.00", "1", "1", "0.00", "1", "1", "0"),
        ("45678902", "0.00", "3", "", "", "", "", ""),
        ("87654321", "40.00", "1", "1", "", "", "", ""),
        ("98765432", "0.00", "1", "2", "", "", "", ""),
    ]
    with (report / f"award_district_what_if_{YEAR}.csv").open(encoding="utf-8") as file:
        header = next(csv.reader(file))
    assert header == ["province_code", "province_name", "district_code", "district_name", "eligible_now", "score_now",
                      "rank_in_province_now", "rank_national_now", "eligible_alt", "score_alt", "rank_in_province_alt",
                      "rank_national_alt", "change", "rubric_version_now", "rubric_version_alt"]

    # Nothing changed: every mart (rows, storage, the list of them) and the rubric row, not even rewritten.
    assert marts_fingerprint(conn) == marts_before
    assert rubric_row(conn) == rubric_before

    # The page, and the site's rebuild keeps it and links it from the award section.
    page = (report / "index.html").read_text()
    assert "Bagaimana jika: rubrik lain, 2026" in page and "small-night-what-if" in page
    assert f'href="award_village_what_if_{YEAR}.csv"' in page
    context = SiteContext(published=D, banner=None, warnings=[], stale_branches=0, gx_pages={}, rubric=None,
                          built_at=dt.datetime.now(dt.UTC))
    build_review_pages(conn, night.docs_dir, context)
    assert (report / "index.html").read_text() == page
    assert f'href="what-if/{YEAR}/index.html"' in (night.docs_dir / "index.html").read_text()

    # A night holding the rubric: the what-if gives up after its lock timeout and says why.
    monkeypatch.setattr(award_what_if, "LOCK_TIMEOUT", "200ms")
    with conn.transaction():
        conn.execute("SELECT * FROM reference.award_rubric FOR UPDATE")
        assert cakupan(["award", "what-if", "--rubric", str(alternative), "--year", str(YEAR),
                        "--out", str(tmp_path / "blocked")]) == 1
    assert "A night is rebuilding the award's tables (waited 200ms" in capsys.readouterr().err
    assert marts_fingerprint(conn) == marts_before and rubric_row(conn) == rubric_before

    # The award models' own SQL reads no mart: only intermediate tables and staging views.
    selects = award_what_if.compiled_selects(night, D)
    assert set(selects) == {"district", "province", "village", "employer"}
    assert not any('"marts' in select for select in selects.values())

    # And the night itself, run with the alternative rubric, publishes exactly the what-if's scores and ranks.
    what_if = award_what_if.what_if(night, alternative, YEAR)
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(alternative))
    assert run_nightly(load_settings(), D, docs=False).succeeded
    for level in what_if.levels:
        ranks = award_what_if.AWARD_LEVELS[level.level].ranks
        mart = award_what_if.AWARD_LEVELS[level.level].mart
        key = award_what_if.AWARD_LEVELS[level.level].key
        published = {row[0]: tuple(row[1:]) for row in conn.execute(
            f"SELECT {key}, eligible, score, {', '.join(ranks)} FROM marts.{mart} WHERE year = %s", (YEAR,))}
        assert {row[key]: (row["eligible_alt"], row["score_alt"], *(row[f"{r}_alt"] for r in ranks))
                for row in level.rows} == published


def test_a_rubric_that_cannot_be_scored_is_refused_with_its_error(settings, tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(ALTERNATIVE.replace("normalisation: share", "normalisation: median"))
    assert cakupan(["award", "what-if", "--rubric", str(bad), "--year", str(YEAR)]) == 1
    assert capsys.readouterr().err == (f"cakupan: error: {bad}: indicators.village[1].normalisation: 'median' is not "
                                       "one of max, min_max, share\n")
    # Scoring reads the rubric an indicator a column: one named twice would keep one normalisation of two.
    twice = tmp_path / "twice.yml"
    twice.write_text(ALTERNATIVE.replace("    - {indicator: covered_persons, weight: 40, normalisation: max}\n",
                                         "    - {indicator: covered_persons, weight: 40, normalisation: max}\n"
                                         "    - {indicator: covered_persons, weight: 2, normalisation: share}\n"))
    assert cakupan(["award", "what-if", "--rubric", str(twice), "--year", str(YEAR)]) == 1
    assert capsys.readouterr().err == (f"cakupan: error: {twice}: indicators.village[3]: covered_persons is named "
                                       "twice; give it one entry with the weight of both\n")
    assert cakupan(["award", "what-if", "--year", str(YEAR)]) == 1
    assert "award what-if needs --rubric FILE" in capsys.readouterr().err

