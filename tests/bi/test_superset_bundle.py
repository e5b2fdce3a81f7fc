"""The dashboard's bundle, without a Superset: whole (every chart on the dashboard has its dataset, every name
a chart asks for is in that dataset), no password committed, the user's URL in the ZIP and the ZIP private."""

from __future__ import annotations

import json
import stat
import zipfile

import pytest
import yaml

from cakupan.bi import superset
from cakupan.cli import main as cakupan
from cakupan.settings import load_settings

URL = "postgresql://cakupan_bi:s3cret@db.example:5433/cakupan"


@pytest.fixture
def bundle(tmp_path) -> dict[str, dict]:
    path = superset.write_bundle(load_settings(), URL, tmp_path / "out" / "dashboard.zip")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with zipfile.ZipFile(path) as archive:
        return {name.split("/", 1)[1]: yaml.safe_load(archive.read(name)) for name in archive.namelist()
                if name.startswith(f"{superset.BUNDLE_FOLDER}/")}


def of_kind(bundle: dict[str, dict], folder: str) -> dict[str, dict]:
    return {config["uuid"]: config for name, config in bundle.items() if name.startswith(folder)}


def test_the_committed_source_holds_no_password():
    source = superset.source_dir(load_settings()) / "dashboard" / "databases"
    (database,) = (yaml.safe_load(path.read_text()) for path in source.glob("*.yaml"))
    assert ":XXXXXXXXXX@" in database["sqlalchemy_uri"]  # Superset's mask, as its exports write it


def test_the_bundle_connects_with_the_given_url_through_psycopg2(bundle):
    assert bundle["metadata.yaml"]["type"] == "Dashboard"
    (database,) = of_kind(bundle, "databases/").values()
    assert database["sqlalchemy_uri"] == "postgresql+psycopg2://cakupan_bi:s3cret@db.example:5433/cakupan"
    assert not database["allow_dml"] and not database["allow_file_upload"]


def test_every_chart_is_on_the_dashboard_and_asks_its_dataset_for_what_it_has(bundle):
    databases, datasets = of_kind(bundle, "databases/"), of_kind(bundle, "datasets/")
    charts, (dashboard,) = of_kind(bundle, "charts/"), of_kind(bundle, "dashboards/").values()
    assert {d["database_uuid"] for d in datasets.values()} == set(databases)
    placed = [item["meta"]["uuid"] for item in dashboard["position"].values()
              if isinstance(item, dict) and item["type"] == "CHART"]
    assert sorted(placed) == sorted(charts)
    for chart in charts.values():
        dataset = datasets[chart["dataset_uuid"]]
        params = chart["params"]
        metrics = [params["metric"]] if "metric" in params else params.get("metrics", [])
        columns = [*params.get("all_columns", []), *params.get("groupby", []), params.get("x_axis"),
                   params.get("entity"), *(json.loads(order)[0] for order in params.get("order_by_cols", []))]
        assert set(metrics) <= {m["metric_name"] for m in dataset["metrics"]}, chart["slice_name"]
        assert set(filter(None, columns)) <= {c["column_name"] for c in dataset["columns"]}, chart["slice_name"]
        # A legacy chart type is queried from its parameters; every other one brings the query Superset runs.
        context = chart["query_context"] and json.loads(chart["query_context"])
        assert bool(context) == (chart["viz_type"] != "country_map"), chart["slice_name"]
        if context:
            assert context["form_data"] == params
            (query,) = context["queries"]
            asked = [column["label"] if isinstance(column, dict) else column for column in query["columns"]]
            assert {*asked, *(query["metrics"] or [])} <= {*columns, *metrics}, chart["slice_name"]


def test_a_url_that_is_not_postgresql_is_refused_with_what_to_give():
    with pytest.raises(superset.SupersetError, match="cakupan warehouse url --role bi"):
        superset.superset_url("mysql://someone@host/db")


def test_import_without_a_superset_command_says_how_else(capsys):
    assert cakupan(["superset", "import", "--url", URL, "--superset", "no-such-superset"]) == 1
    assert "cakupan superset bundle --out FILE" in capsys.readouterr().err
