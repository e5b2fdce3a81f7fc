"""The small night's hand-worked figures (tests/fixtures/small_night/expected.py) and how to compare the published
marts with them: shared by the night tests of every stage."""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "small_night"


_spec = importlib.util.spec_from_file_location("small_night_expected", FIXTURE / "expected.py")
expected = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(expected)

D = dt.date.fromisoformat(expected.SNAPSHOT_DATE)


def rate(value) -> str | None:
    return None if value is None else f"{Decimal(value):.6f}"


def marts_snapshot(conn) -> dict[str, list[tuple]]:
    village = conn.execute(
        """SELECT village_code, covered_persons, vulnerable_persons, vulnerable_target_met
           FROM marts.coverage_village WHERE snapshot_date = %s AND covered_persons > 0 ORDER BY village_code""",
        (D,),
    ).fetchall()
    district = conn.execute(
        """SELECT district_code, covered_persons, employed_population, coverage_rate, vulnerable_persons, villages,
                  villages_target_met, stale_branches
           FROM marts.coverage_district
           WHERE snapshot_date = %s AND (covered_persons > 0 OR stale_branches > 0 OR employed_population IS NOT NULL)
           ORDER BY district_code""",
        (D,),
    ).fetchall()
    province = conn.execute(
        """SELECT province_code, covered_persons, employed_population, coverage_rate, vulnerable_persons, villages,
                  villages_target_met, stale_branches
           FROM marts.coverage_province
           WHERE snapshot_date = %s AND (covered_persons > 0 OR stale_branches > 0 OR employed_population IS NOT NULL)
           ORDER BY province_code""",
        (D,),
    ).fetchall()
    participation = conn.execute(
        """SELECT district_code, segment, funding_source, occupation, active_participations
           FROM marts.participation_district WHERE snapshot_date = %s ORDER BY 1, 2, 3, 4""",
        (D,),
    ).fetchall()
    contributions = conn.execute(
        """SELECT period::text, district_code, program, funding_source, payments, amount_idr
           FROM marts.contributions_district_month ORDER BY 1, 2 NULLS FIRST, 3, 4"""
    ).fetchall()
    # Every district row with a figure, and the row of NIKs of no district (null codes) first.
    district_nik = conn.execute(
        """SELECT district_code, province_code, covered_persons_nik, covered_persons_nik_placed_here,
                  employed_population, coverage_rate_nik
           FROM marts.coverage_district_nik
           WHERE snapshot_date = %s AND (covered_persons_nik > 0 OR district_code IS NULL)
           ORDER BY district_code NULLS FIRST""",
        (D,),
    ).fetchall()
    return {
        "district_nik": [(*r[:5], rate(r[5])) for r in district_nik],
        "village": village,
        "district": [(*r[:3], rate(r[3]), *r[4:]) for r in district],
        "province": [(*r[:3], rate(r[3]), *r[4:]) for r in province],
        "participation": participation,
        "contributions": contributions,
    }


def sort_none_first(rows, key_columns):
    return sorted(rows, key=lambda r: tuple((0, "") if r[i] is None else (1, r[i]) for i in key_columns))


def assert_the_hand_worked_figures(conn) -> None:
    """The published marts of D hold exactly the figures worked out by hand (also after other nights)."""
    marts = marts_snapshot(conn)
    assert marts["village"] == sorted(expected.COVERAGE_VILLAGE_NONZERO)
    assert marts["district_nik"] == sort_none_first(expected.COVERAGE_DISTRICT_NIK, (0,))
    assert marts["district"] == sorted(expected.COVERAGE_DISTRICT)
    assert marts["province"] == sorted(expected.COVERAGE_PROVINCE)
    assert marts["participation"] == sorted(expected.PARTICIPATION_DISTRICT)
    assert marts["contributions"] == sort_none_first(expected.CONTRIBUTIONS_DISTRICT_MONTH, (0, 1, 2, 3))
