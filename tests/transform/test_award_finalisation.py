"""`cakupan award finalise`: a finalised award year's rows survive later nights, a backfill and a rubric change
exactly as signed off; finalising again needs --supersede, scores the year with today's rubric and keeps the
earlier record; the command refuses, saying what to do, without rows, when final already, and during a night."""

from __future__ import annotations

import datetime as dt

import pytest

from cakupan.cli import main as cakupan
from cakupan.orchestration.dag_run import run_nightly
from cakupan.publish import night_lease
from cakupan.settings import load_settings
from cakupan.transform.award_finalisation import digest
from small_night_figures import FIXTURE, D

pytestmark = pytest.mark.slow

YEAR = D.year


def award_rows(conn) -> list[str]:
    """Every published award row of the year, whole, in a fixed order."""
    return [row for (row,) in conn.execute(
        """SELECT level || ' ' || award_row::text FROM (
               SELECT 'district' AS level, to_jsonb(a) AS award_row FROM marts.award_district a WHERE year = %(y)s
               UNION ALL SELECT 'province', to_jsonb(a) FROM marts.award_province a WHERE year = %(y)s
               UNION ALL SELECT 'village', to_jsonb(a) FROM marts.award_village a WHERE year = %(y)s) rows
           ORDER BY 1""", {"y": YEAR})]


def finalisations(conn) -> list[tuple]:
    return conn.execute(
        "SELECT year, rubric_version, snapshot_date, finalised_by, digest, superseded_at IS NOT NULL "
        "FROM marts.award_finalisations ORDER BY finalised_at").fetchall()


def village_scores(conn) -> list[tuple]:
    return conn.execute("SELECT village_code, score::text, rubric_version FROM marts.award_village "
                        "WHERE year = %s AND eligible ORDER BY 1", (YEAR,)).fetchall()


def test_a_finalised_year_survives_nights_backfills_and_rubric_changes(night, empty_warehouse, tmp_path,
                                                                     monkeypatch, capsys):
    conn = empty_warehouse
    assert cakupan(["award", "finalise", "--year", str(YEAR), "--by", "Komite"]) == 1
    assert "cakupan: error: Nothing is published yet" in capsys.readouterr().err

    assert run_nightly(night, D).succeeded
    assert f"{YEAR} results are provisional" in (night.docs_dir / "index.html").read_text()
    assert cakupan(["award", "finalise", "--year", str(YEAR - 1), "--by", "Komite"]) == 1
    assert f"cakupan: error: marts has no award rows of {YEAR - 1}" in capsys.readouterr().err

    # A night holds the lease: the award marts may not change under it.
    lease, _ = night_lease.try_take(conn, run_id="a night", snapshot_date=D, holder="elsewhere pid 1 (task)")
    assert cakupan(["award", "finalise", "--year", str(YEAR), "--by", "Komite"]) == 1
    assert "cakupan: error: A night is running (run a night" in capsys.readouterr().err
    night_lease.release(conn, lease.lease_id)

    signed_off = award_rows(conn)
    scores_signed_off = village_scores(conn)
    assert cakupan(["award", "finalise", "--year", str(YEAR), "--by", "Komite"]) == 0, capsys.readouterr().err
    assert "Later nights leave these rows as they are." in capsys.readouterr().out
    # The reviewers' site says so at once, on the national and the province pages.
    for page in (night.docs_dir / "index.html", night.docs_dir / "provinsi" / "13.html"):
        assert f"{YEAR} results are final: signed off by Komite" in page.read_text()
    # Published at once, the rows exactly as they were, and the record's digest is theirs.
    assert award_rows(conn) == signed_off
    ((year, version, snapshot, by, recorded, superseded),) = finalisations(conn)
    assert (year, version, snapshot, by, superseded) == (YEAR, "small-night-1", D, "Komite", False)
    assert recorded == digest(conn, YEAR)
    assert conn.execute("SELECT count(*) FROM audit.night_lease").fetchone()[0] == 0  # given back

    assert cakupan(["award", "finalise", "--year", str(YEAR), "--by", "Komite"]) == 1
    assert "add --supersede" in capsys.readouterr().err

    # Another rubric (the village progress indicator weighs nothing), then a backfill of both nights and the
    # next: every night rebuilds the award marts, and the finalised year stays as signed off.
    rubric = (FIXTURE / "rubric.yml").read_text().replace("version: small-night-1", "version: small-night-2")
    rubric = rubric.replace("{indicator: vulnerable_target_progress, weight: 60, normalisation: share}",
                            "{indicator: vulnerable_target_progress, weight: 0, normalisation: share}")
    (tmp_path / "rubric.yml").write_text(rubric)
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(tmp_path / "rubric.yml"))
    settings = load_settings()
    for date in (D - dt.timedelta(days=1), D):
        assert run_nightly(settings, date, docs=False).succeeded
    assert award_rows(conn) == signed_off
    assert digest(conn, YEAR) == recorded

    # Superseded: scored again with today's rubric, finalised in its turn; the earlier record is kept.
    assert cakupan(["award", "finalise", "--year", str(YEAR), "--by", "Komite 2", "--supersede"]) == 0, \
        capsys.readouterr().err
    rescored = village_scores(conn)
    # covered persons / 5 x 40, out of 40: G 2, A 5, C 2, P 3 (test_nightly_end_to_end works them out).
    assert rescored == [("13.06.01.2001", "40.00", "small-night-2"), ("13.73.01.1001", "100.00", "small-night-2"),
                        ("13.73.02.2005", "40.00", "small-night-2"), ("14.71.01.1002", "60.00", "small-night-2")]
    assert rescored != [(code, score, "small-night-2") for code, score, _ in scores_signed_off]
    (first, second) = finalisations(conn)
    assert first == (YEAR, "small-night-1", D, "Komite", recorded, True)
    assert second[:4] == (YEAR, "small-night-2", D, "Komite 2") and second[5] is False
    assert second[4] == digest(conn, YEAR) != recorded
    assert conn.execute("SELECT count(DISTINCT finalisation_id) FROM audit.award_finalised_rows").fetchone()[0] == 2

    # And the new sign-off holds in its turn: the first rubric back, another night, the same rows.
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(FIXTURE / "rubric.yml"))
    superseding = award_rows(conn)
    assert run_nightly(load_settings(), D, docs=False).succeeded
    assert award_rows(conn) == superseding
    assert digest(conn, YEAR) == second[4]
