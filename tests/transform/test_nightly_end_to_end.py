"""The whole night through Airflow (`dag.test()`), dbt and GX on a hand-built landing folder whose
answers were worked out by hand (tests/fixtures/small_night/expected.py): every mart, exact figures."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape

from cakupan.cli import main as cakupan
from cakupan.orchestration.dag_run import run_nightly
from cakupan.publish import publication
from cakupan.reference import reference_layer
from cakupan.settings import load_settings
from cakupan.site.docs_site import dbt_docs_target
from cakupan.transform.dbt_runner import DbtFailed
from cakupan.transform.nightly import build_marts
from small_night_figures import FIXTURE, D, assert_the_hand_worked_figures, expected, marts_snapshot, rate
from warehouse_access import assert_bi_reads_the_marts_and_nothing_else, assert_the_night_ran_as_the_project_roles

INDICATOR_DOCS = Path(__file__).parents[2] / "dbt_project" / "models" / "docs" / "award_indicators.md"

pytestmark = pytest.mark.slow


def test_the_night_produces_the_hand_worked_figures(night, empty_warehouse, tmp_path, monkeypatch):
    conn = empty_warehouse
    run = run_nightly(night, D)
    assert run.succeeded, run.failure_summary()
    assert_the_hand_worked_figures(conn)
    marts = marts_snapshot(conn)

    counts = conn.execute(
        """SELECT (SELECT count(*) FROM marts.coverage_village WHERE snapshot_date = %(d)s),
                  (SELECT count(*) FROM marts.coverage_district WHERE snapshot_date = %(d)s),
                  (SELECT count(*) FROM marts.coverage_province WHERE snapshot_date = %(d)s)""",
        {"d": D},
    ).fetchone()
    assert counts == (83_762, 514, 38)

    assert award_snapshot(conn) == (
        sorted(expected.AWARD_DISTRICT), expected.AWARD_PROVINCE_ELIGIBLE, expected.AWARD_VILLAGE_ELIGIBLE)
    assert award_employers(conn) == expected.AWARD_EMPLOYER
    counts = conn.execute(
        """SELECT (SELECT count(*) FROM marts.award_village WHERE year = 2026),
                  (SELECT count(*) FROM marts.award_district WHERE year = 2026),
                  (SELECT count(*) FROM marts.award_province WHERE year = 2026),
                  (SELECT count(*) FROM marts.coverage_district_month WHERE month = '2026-11-01'),
                  (SELECT count(*) FROM marts.coverage_province_month WHERE month = '2026-11-01'),
                  (SELECT count(DISTINCT rubric_version) FROM marts.award_district)"""
    ).fetchone()
    assert counts == (83_762, 514, 38, 514, 38, 1)

    loads = conn.execute(
        """SELECT kode_cabang, export_date::text, file_name, rows_read, rows_loaded, rows_rejected
           FROM audit.file_loads WHERE status = 'loaded' ORDER BY 1, 2, 3"""
    ).fetchall()
    assert loads == sorted(expected.FILES_LOADED)

    # Branch freshness on D, as operators and BI tools read it: SOLOK's 11-20 upload has no manifest yet.
    assert conn.execute(
        "SELECT branch_code, current_snapshot_date::text, days_since_delivery, is_stale, freshness_status "
        "FROM marts.branch_freshness WHERE snapshot_date = %s ORDER BY 1", (D,)).fetchall() == [
        ("PEKANBARU", "2026-11-20", 0, False, "on_time"), ("SAWAHLUNTO", "2026-11-20", 0, False, "on_time"),
        ("SOLOK", "2026-11-19", 1, True, "late")]

    # Each step ran as its own role, and BI tools read the published marts and nothing else.
    assert_the_night_ran_as_the_project_roles(conn)
    assert_bi_reads_the_marts_and_nothing_else(night, conn)

    assert (night.docs_dir / "index.html").is_file()
    assert (night.docs_dir / "dbt" / "index.html").is_file()
    assert (night.docs_dir / "gx").is_dir()
    # The indicators page says each award indicator as its dbt doc block does, in both languages.
    indicators = (night.docs_dir / "indikator.html").read_text()
    blocks = re.findall(r"{% docs (\w+) %}\n(.*?)\n\n(.*?)\n{% enddocs %}", INDICATOR_DOCS.read_text(), re.S)
    assert {name for name, _, _ in blocks} >= {"coverage_rate", "vulnerable_target_progress"}
    for name, indonesian, english in blocks:
        assert f"<code>{name}</code>" in indicators
        for sentence in (indonesian, english.split("(")[0]):
            assert str(escape(" ".join(sentence.split()))) in indicators, (name, sentence)
    site = "".join(p.read_text(errors="ignore") for p in night.docs_dir.rglob("*.html"))
    # A participant may share a name with a place: the fixture's Sri Rahayu with the village 18.10.06.2007 that
    # the district pages list. A place name is public; the person behind the same words is not on the site.
    places = {name for (name,) in conn.execute(
        "SELECT village_name FROM reference.villages UNION SELECT district_name FROM reference.districts")}
    for personal in _personal_values() - places:
        assert personal not in site

    # Every column of every model and seed is described in its YAML (the dbt docs reviewers read).
    manifest = json.loads((dbt_docs_target(night) / "manifest.json").read_text())
    documented = {
        (node["schema"], node["name"], column)
        for node in manifest["nodes"].values() if node["resource_type"] in ("model", "seed")
        for column, spec in node["columns"].items() if spec.get("description")
    }
    built = set(conn.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('staging', 'intermediate', 'marts') AND table_name NOT LIKE %s",
        (f"%{publication.LATEST_SUFFIX}",)).fetchall())
    assert built and built <= documented, sorted(built - documented)
    # Each daily mart's latest view (the publication's, not a model) has its mart's columns and descriptions.
    for mart in publication.DAILY_MARTS:
        assert conn.execute(
            "SELECT array_agg((attname, col_description(attrelid, attnum))::text ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0", (f"marts.{mart}",)).fetchone() == conn.execute(
            "SELECT array_agg((attname, col_description(attrelid, attnum))::text ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0", (f"marts.{publication.latest_view(mart)}",)).fetchone()

    # Re-running the same night changes nothing.
    audit_before = conn.execute("SELECT count(*), sum(rows_read) FROM audit.file_loads").fetchone()
    reference_built = reference_layer_built_at(conn)
    dbt_log = night.home / "dbt" / "logs" / "dbt.log"
    logged = dbt_log.stat().st_size
    again = run_nightly(night, D)
    assert again.succeeded, again.failure_summary()
    # The night's build and the docs each kept the parse they made the night before (docs/decisions.md,
    # change 24); dbt rotates its log at 10 MB.
    log = dbt_log.read_bytes()
    rotated = len(log) < logged
    since = dbt_log.with_name("dbt.log.1").read_bytes()[logged:] + log if rotated else log[logged:]
    assert since.count(b"Running with dbt=") == 2, since
    assert not re.search(rb"Unable to do partial parsing|Starting full parse", since), since
    assert marts_snapshot(conn) == marts
    assert conn.execute("SELECT count(*), sum(rows_read) FROM audit.file_loads").fetchone() == audit_before
    # The reference is as the first run's build tested it: the second left its layer as it was.
    assert reference_layer_built_at(conn) == reference_built

    # Another rubric, the same models: the night's build scores and ranks by it.
    rubric = (FIXTURE / "rubric.yml").read_text().replace("version: small-night-1", "version: small-night-2")
    rubric = rubric.replace("{indicator: vulnerable_target_progress, weight: 60, normalisation: share}",
                            "{indicator: vulnerable_target_progress, weight: 0, normalisation: share}")
    (tmp_path / "rubric.yml").write_text(rubric)
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(tmp_path / "rubric.yml"))
    build_marts(load_settings(), D)
    assert reference_layer_built_at(conn) > reference_built  # a new rubric: the layer tested again
    assert "model.cakupan.stg_reference__award_indicators" in built_nodes(night)
    rescored = conn.execute(
        "SELECT village_code, score::text, rank_in_province, rubric_version FROM marts_candidate.award_village "
        "WHERE year = 2026 AND eligible ORDER BY 1").fetchall()
    # covered persons / 5 x 40, out of 40: G 2, A 5, C 2, P 3.
    assert rescored == [("13.06.01.2001", "40.00", 2, "small-night-2"), ("13.73.01.1001", "100.00", 1, "small-night-2"),
                        ("13.73.02.2005", "40.00", 2, "small-night-2"), ("14.71.01.1002", "60.00", 1, "small-night-2")]

    # A misspelt indicator would score 0 for everyone without a word: the build stops on it, naming it.
    (tmp_path / "rubric.yml").write_text(rubric.replace("version: small-night-2", "version: small-night-3")
                                         .replace("indicator: covered_persons,", "indicator: covered_person,"))
    with pytest.raises(DbtFailed, match="award_rubric_names_indicator_columns"):
        build_marts(load_settings(), D)

    # No build passed with the rubric stored now: the next build tests the reference layer again, as it does
    # after a change to the dbt project's code, or with a view of the layer dropped.
    settings = load_settings()
    assert reference_layer.current(conn, settings.dbt_project_dir).built_at is None
    (tmp_path / "rubric.yml").write_text(rubric)
    build_marts(settings, D)
    assert reference_layer.current(conn, settings.dbt_project_dir).built_at is not None
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    assert reference_layer.current(conn, project).built_at is not None
    with (project / "macros" / "ensure_index.sql").open("a") as macro:
        macro.write("\n")
    assert reference_layer.current(conn, project).built_at is None
    conn.execute("DROP VIEW staging.stg_reference__award_targets")
    assert reference_layer.current(conn, settings.dbt_project_dir).built_at is None


def reference_layer_built_at(conn) -> dt.datetime:
    return conn.execute("SELECT built_at FROM audit.reference_layer_builds").fetchone()[0]


def built_nodes(night) -> set[str]:
    """The nodes the last dbt command built or tested."""
    run_results = json.loads((night.home / "dbt" / "target" / "run_results.json").read_text())
    return {result["unique_id"] for result in run_results["results"]}


def award_snapshot(conn) -> tuple[list, list, list]:
    """The award rows the hand-worked answers cover: eligible entities, and Pekanbaru (not eligible)."""
    def text(value):
        return None if value is None else str(value)

    districts = [(code, text(score), *ranks, met, gap) for code, score, *ranks, met, gap in conn.execute(
        """SELECT district_code, score, rank_in_province, rank_national, coverage_target_met, coverage_gap_persons
           FROM marts.award_district WHERE year = 2026 AND (eligible OR district_code = '14.71') ORDER BY 1""")]
    provinces = [(code, text(score), rank, gap) for code, score, rank, gap in conn.execute(
        """SELECT province_code, score, rank_national, coverage_gap_persons
           FROM marts.award_province WHERE year = 2026 AND eligible ORDER BY 1""")]
    villages = [(code, text(score), rank, national) for code, score, rank, national in conn.execute(
        "SELECT village_code, score, rank_in_province, rank_national FROM marts.award_village "
        "WHERE year = 2026 AND eligible ORDER BY 1")]
    return districts, provinces, villages


def award_employers(conn) -> list[tuple]:
    """Every award_employer row of 2026, as expected.AWARD_EMPLOYER writes them."""
    return [(npp, size, province, workforce, covered, rate(coverage), rate(full), aided, eligible,
             None if score is None else str(score), rank, national)
            for npp, size, province, workforce, covered, coverage, full, aided, eligible, score, rank, national
            in conn.execute(
                """SELECT npp, size_class, province_code, workforce, covered_workers, coverage_rate, full_program_share,
                          vulnerable_aided, eligible, score, rank_in_province, rank_national
                   FROM marts.award_employer WHERE year = 2026 ORDER BY npp""")]


def _personal_values() -> set[str]:
    """NIK, names and birth dates written in the fixture's exports."""
    import csv

    values: set[str] = set()
    for path in (FIXTURE / "landing").rglob("peserta.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter = ";" if "," not in handle.readline() else ","
            handle.seek(0)
            for row in csv.DictReader(handle, delimiter=delimiter):
                values.update({row["nik"], row["nama"]})
    return values


def test_cakupan_run_names_the_failed_task_and_why(night, monkeypatch, capsys):
    monkeypatch.setenv("CAKUPAN_LANDING_ROOT", str(night.home / "no-such-landing"))
    assert cakupan(["run", "--date", D.isoformat()]) == 1
    error = capsys.readouterr().err
    assert "task find_exports failed" in error
    assert "no-such-landing" in error and "CAKUPAN_LANDING_ROOT" in error


def test_cakupan_run_refuses_to_start_without_a_pii_key(monkeypatch, capsys):
    monkeypatch.delenv("CAKUPAN_PII_KEY")
    assert cakupan(["run", "--date", D.isoformat()]) == 1
    assert "CAKUPAN_PII_KEY" in capsys.readouterr().err
