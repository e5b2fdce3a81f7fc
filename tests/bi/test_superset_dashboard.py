"""The shipped Superset dashboard in a real Superset: imported with the command users run, every chart asked
through Superset's web API as the dashboard asks, and what comes back is the published marts' figures, exactly:
the marts read directly as cakupan_bi, and the small night's hand-worked figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cakupan.bi.superset import dashboard_path
from cakupan.cli import main as cakupan
from cakupan.orchestration.dag_run import run_nightly
from cakupan.platform import db
from small_night_figures import D, expected, rate

pytestmark = [pytest.mark.slow, pytest.mark.superset]

PROVINCE_COLUMNS = ("province_code", "province_name", "covered_persons", "employed_population", "coverage_rate",
                    "vulnerable_persons", "villages", "villages_target_met", "stale_branches")
AWARD_COLUMNS = ("year", "province_name", "score", "rank_national", "is_top3", "eligible")


def as_json(value):
    """A figure as Superset's JSON carries it: numerics as floats."""
    return float(value) if isinstance(value, Decimal) else value


def marts(bi, query: str, *params) -> list[dict]:
    cursor = bi.execute(query, params)
    names = [column.name for column in cursor.description]
    return [{name: as_json(value) for name, value in zip(names, row, strict=True)} for row in cursor]


def test_the_imported_dashboard_shows_the_published_figures(night, superset, monkeypatch):
    run = run_nightly(night, D)
    assert run.succeeded, run.failure_summary()
    instance = superset.fresh()
    for name in ("SUPERSET_CONFIG_PATH", "SUPERSET_HOME"):
        monkeypatch.setenv(name, instance.environment()[name])

    assert cakupan(["superset", "import", "--superset", str(instance.superset), "--username", "admin"]) == 0
    charts = instance.chart_data(dashboard_path(night))
    shown = {name: chart["data"] for name, chart in charts.items()}

    with db.connect(night, "bi") as bi:
        provinces = marts(bi, f"SELECT {', '.join(PROVINCE_COLUMNS)}, province_iso "
                              "FROM marts.coverage_province_latest ORDER BY province_code")
        award = marts(bi, f"SELECT {', '.join(AWARD_COLUMNS)} FROM marts.award_province WHERE year = %s "
                          "ORDER BY rank_national NULLS LAST, province_code", D.year)
    assert len(provinces) == len(award) == 38

    # The national figures: sums over the provinces, and the rate a ratio of those sums over the provinces
    # with an employed population (Sumatera Barat alone: 9 / 153,000), never an average of rates.
    hand_worked = {code: (covered, employed, vulnerable) for code, covered, employed, _, vulnerable, *_
                   in expected.COVERAGE_PROVINCE}
    assert shown["Tenaga kerja terlindungi"] == [{"covered_persons_sum": 12}]
    assert sum(p["covered_persons"] for p in provinces) == sum(c for c, _, _ in hand_worked.values()) == 12
    assert shown["Pekerja rentan terlindungi"] == [{"vulnerable_persons_sum": 6}]
    assert sum(p["vulnerable_persons"] for p in provinces) == sum(v for _, _, v in hand_worked.values()) == 6
    known = [p for p in provinces if p["employed_population"]]
    national_rate = Decimal(sum(p["covered_persons"] for p in known)) / sum(p["employed_population"] for p in known)
    assert national_rate == Decimal(9) / Decimal(153_000)
    assert shown["Rasio cakupan nasional"] == [{"coverage_rate": float(national_rate)}]
    midnight = dt.datetime.combine(D, dt.time(), dt.UTC)
    assert shown["Tanggal snapshot"] == [{"snapshot_date_latest": midnight.timestamp() * 1000}]

    # Every province, on the map by its ISO code, in the bar chart and in the table: the mart's own rows.
    assert {p["province_iso"] for p in provinces} >= {"ID-SB", "ID-RI", "ID-JB"}
    assert sorted(shown["Peta rasio cakupan per provinsi"], key=lambda r: r["country_id"]) == sorted(
        ({"country_id": p["province_iso"], "metric": p["coverage_rate"]} for p in provinces),
        key=lambda r: r["country_id"])
    assert sorted(shown["Rasio cakupan per provinsi"], key=lambda r: r["province_name"]) == sorted(
        ({"province_name": p["province_name"], "coverage_rate": p["coverage_rate"]} for p in provinces),
        key=lambda r: r["province_name"])
    assert shown["Provinsi"] == [{column: p[column] for column in PROVINCE_COLUMNS} for p in provinces]
    for code, covered, employed, coverage_rate, vulnerable, *_ in expected.COVERAGE_PROVINCE:
        (row,) = (r for r in shown["Provinsi"] if r["province_code"] == code)
        assert (row["covered_persons"], row["employed_population"], rate(row["coverage_rate"]),
                row["vulnerable_persons"]) == (covered, employed, coverage_rate, vulnerable)

    # The award's latest year, best rank first: only Sumatera Barat is eligible (100.00, rank 1, top three).
    assert shown["Paritrana Award, provinsi"] == award
    ((_, score, rank_national, _),) = expected.AWARD_PROVINCE_ELIGIBLE
    assert [(r["province_name"], r["score"], r["rank_national"], r["is_top3"]) for r in award if r["eligible"]] == [
        ("Sumatera Barat", float(score), rank_national, True)]

    assert set(shown) == {"Tenaga kerja terlindungi", "Pekerja rentan terlindungi", "Rasio cakupan nasional",
                          "Tanggal snapshot", "Peta rasio cakupan per provinsi", "Rasio cakupan per provinsi",
                          "Provinsi", "Paritrana Award, provinsi"}, "a chart of the dashboard is not checked here"
