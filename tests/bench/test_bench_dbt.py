"""`dbt_vs_sql` compares like with like: on the small night, the psql replay of the full-refresh `dbt build`
leaves every candidate mart exactly as dbt itself leaves it. (No timing is asserted: that is `make bench`.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cakupan.bench.bench_dbt import measure_dbt_build
from cakupan.bench.bench_incremental import measure_incremental_vs_full
from cakupan.gates.gate_log import deliveries_awaiting_raw_gate, mark_raw_gate_passed
from cakupan.platform import db
from cakupan.publish import publication
from cakupan.settings import load_settings
from cakupan.transform.nightly import find_exports, load_export

FIXTURE = Path(__file__).parents[1] / "fixtures" / "small_night"
D = dt.date(2026, 11, 20)  # the small night's date (fixtures/small_night/expected.py)


@pytest.fixture
def loaded_night(small_night, monkeypatch):
    """The small night loaded and through the raw gate (the gate's checks are tested elsewhere)."""
    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(FIXTURE / "rubric.yml"))
    settings = load_settings()
    for folder in find_exports(settings, D):
        load_export(settings, folder)
    with db.connect(settings, "loader") as conn:
        mark_raw_gate_passed(conn, deliveries_awaiting_raw_gate(conn))
    return settings


def candidate_marts(conn) -> dict[str, list[tuple]]:
    tables = [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (publication.CANDIDATE,))]
    return {table: sorted(conn.execute(f"SELECT * FROM {publication.CANDIDATE}.{table}").fetchall(), key=repr)
            for table in tables}


def test_the_psql_replay_builds_the_same_marts_as_dbt(loaded_night, conn):
    # measure_dbt_build raises unless, in every repeat, dbt and the replay leave every candidate mart with the
    # same rows (count and digest of all rows); the replay ran last, so the marts now are the replay's.
    result = measure_dbt_build(loaded_night, D, repeats=1, progress=lambda _: None)
    replayed = candidate_marts(conn)

    assert result["same_marts"] and result["mart_tables"] == len(replayed)
    assert len(replayed["coverage_village"]) == 83_762  # every village of the reference on D
    # Every mart has rows but the award's sign-offs: no year of this night is finalised.
    empty = [table for table, rows in replayed.items() if not rows]
    assert empty == ["award_finalisations"], empty
    assert result["nodes"] > len(replayed) and result["statements"] > result["nodes"]
    assert result["dbt_vs_sql"] > 0 and result["dbt_seconds"] > 0 and result["sql_seconds"] > 0
    # Nothing of dbt's swap is left behind, as after a night's build.
    assert not conn.execute("SELECT relname FROM pg_class WHERE relname LIKE '%%__dbt_%%'").fetchall()
    # The replay built dbt's indexes too (a next night looks participants up by them).
    indexed = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'intermediate' "
                           "AND tablename = 'int_participants_current'").fetchall()
    assert sorted(row[0].split(" USING ")[1] for row in indexed) == ["btree (branches)", "btree (kpj)",
                                                                       "btree (person_key)"]


def test_incremental_vs_full_times_the_nightly_build_against_its_full_refresh(loaded_night, conn):
    result = measure_incremental_vs_full(loaded_night, D, repeats=1, progress=lambda _: None)
    assert result["incremental_vs_full"] > 0
    assert result["incremental_seconds"] > 0 and result["full_refresh_seconds"] > 0
    assert result["ratios"] == [result["incremental_vs_full"]]
    # The incremental build ran last: it counted again only the payments of the night's date (20 Nov), after the
    # full refresh had counted every payment; the 19 Nov ones stand as the full refresh counted them.
    counted_last = conn.execute(
        "SELECT DISTINCT export_date FROM intermediate.int_contributions_by_export_date WHERE attributed_at = "
        "(SELECT max(attributed_at) FROM intermediate.int_contributions_by_export_date)").fetchall()
    assert counted_last == [(D,)]
    assert conn.execute("SELECT count(*) FROM intermediate.int_contributions_by_export_date WHERE export_date < %s",
                        (D,)).fetchone()[0] > 0
    assert conn.execute("SELECT sum(payments) FROM intermediate.int_contributions_by_export_date").fetchone()[0] == \
        conn.execute("SELECT count(*) FROM raw.iuran").fetchone()[0]
    # And it rewrote only the participants that differ between the 19 Nov snapshots and the 20 Nov ones.
    changes = dict(conn.execute("SELECT change, count(*) FROM intermediate.int_participant_changes GROUP BY 1"))
    assert "rebuild" not in changes and changes.get("added", 0) + changes.get("changed", 0) > 0
