"""The night's data package (datapackage.json and a CSV per mart) and the site's table CSVs.

Most tests need no warehouse: the schema is built from a small hand-made manifest and retention works on made-up
folders. One test (slow: it runs the small night through Airflow) writes the package of a published night and
checks it against the marts.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from cakupan.site.data_package import (
    PACKAGE_FILE,
    DataPackageError,
    mart_query,
    marts_of,
    prune_packages,
    replace_folder,
    rows_of_the_date,
    table_schema,
    table_schema_type,
    write_data_package,
)

D = dt.date(2026, 11, 20)


def model(name: str, columns: list[tuple[str, str, bool]], *, schema: str = "marts", package: str = "cakupan",
          resource_type: str = "model") -> tuple[str, dict]:
    unique_id = f"{resource_type}.{package}.{name}"
    return unique_id, {
        "resource_type": resource_type, "package_name": package, "name": name, "alias": name,
        "schema": "marts_candidate", "config": {"schema": schema},
        "description": f"Tentang {name}. About {name}.\n",
        "columns": {column: {"name": column, "data_type": data_type, "description": f"The {column}.",
                             "constraints": [{"type": "not_null"}] if not_null else []}
                    for column, data_type, not_null in columns},
    }


def unique_test(model_id: str, combination: list[str]) -> tuple[str, dict]:
    return f"test.cakupan.unique_{'_'.join(combination)}.{model_id}", {
        "resource_type": "test", "attached_node": model_id,
        "test_metadata": {"name": "unique_combination", "kwargs": {"combination": combination}}}


def small_manifest() -> dict:
    nodes = dict([
        model("coverage_province", [("snapshot_date", "date", True), ("province_code", "text", True),
                                    ("covered_persons", "integer", True), ("coverage_rate", "numeric", False)]),
        model("award_province", [("year", "integer", True), ("snapshot_date", "date", True),
                                 ("province_code", "text", True), ("eligible", "boolean", True)]),
        model("coverage_province_month", [("month", "date", True), ("province_code", "text", True)]),
        model("contributions_district_month", [("period", "date", True), ("district_code", "text", False),
                                               ("amount_idr", "bigint", False)]),
        model("lookup_segment", [("code", "text", True), ("label_id", "text", True)]),
        model("award_finalisations", [("year", "integer", True), ("finalised_at", "timestamp with time zone", True)]),
        # Not marts: another schema, another package, a seed.
        model("int_branch_freshness", [("branch_code", "text", True)], schema="intermediate"),
        model("other_marts_model", [("x", "text", True)], package="elsewhere"),
        model("province_iso", [("code", "text", True)], resource_type="seed"),
        unique_test("model.cakupan.coverage_province", ["snapshot_date", "province_code"]),
        unique_test("model.cakupan.award_province", ["year", "province_code"]),
        unique_test("model.cakupan.coverage_province_month", ["month", "province_code"]),
        unique_test("model.cakupan.contributions_district_month", ["period", "district_code"]),
        unique_test("model.cakupan.award_finalisations", ["year", "finalised_at"]),
    ])
    nodes["test.cakupan.not_null_lookup_segment_label_id"] = {
        "resource_type": "test", "attached_node": "model.cakupan.lookup_segment",
        "test_metadata": {"name": "not_null", "kwargs": {"column_name": "code"}}}
    return {"nodes": nodes}


def by_name(manifest: dict) -> dict:
    return {mart.name: mart for mart in marts_of(manifest)}


def test_contract_types_map_to_table_schema_types():
    assert table_schema_type("integer") == table_schema_type("bigint") == "integer"
    assert table_schema_type("numeric") == table_schema_type("numeric(12, 2)") == "number"
    assert table_schema_type("text") == table_schema_type("character varying(20)") == "string"
    assert table_schema_type("date") == "date"
    assert table_schema_type("timestamp with time zone") == table_schema_type("timestamp(3) with time zone") \
        == "datetime"
    assert table_schema_type("boolean") == "boolean"
    with pytest.raises(DataPackageError, match="TABLE_SCHEMA_TYPES"):
        table_schema_type("jsonb")
    with pytest.raises(DataPackageError, match="TABLE_SCHEMA_TYPES"):
        table_schema_type("text[]")


def test_the_marts_are_the_cakupan_models_of_schema_marts_with_their_keys():
    marts = by_name(small_manifest())
    assert list(marts) == sorted(["coverage_province", "award_province", "coverage_province_month",
                                  "contributions_district_month", "lookup_segment", "award_finalisations"])
    assert marts["coverage_province"].key == ("snapshot_date", "province_code")
    assert marts["lookup_segment"].key is None
    assert marts["lookup_segment"].order == ("code", "label_id")
    # A not_null test makes a column required as a not_null constraint does.
    assert [column.required for column in marts["lookup_segment"].columns] == [True, True]


def test_the_schema_follows_the_manifest():
    marts = by_name(small_manifest())
    schema = table_schema(marts["coverage_province"])
    assert schema == {
        "fields": [
            {"name": "snapshot_date", "type": "date", "description": "The snapshot_date.",
             "constraints": {"required": True}},
            {"name": "province_code", "type": "string", "description": "The province_code.",
             "constraints": {"required": True}},
            {"name": "covered_persons", "type": "integer", "description": "The covered_persons.",
             "constraints": {"required": True}},
            {"name": "coverage_rate", "type": "number", "description": "The coverage_rate."},
        ],
        "primaryKey": ["snapshot_date", "province_code"],
    }
    # A key column that may be null (unplaced payments) is no Table Schema primary key.
    assert "primaryKey" not in table_schema(marts["contributions_district_month"])
    assert "primaryKey" not in table_schema(marts["lookup_segment"])  # no unique test
    assert table_schema(marts["award_finalisations"])["fields"][1]["type"] == "datetime"


def test_the_rows_of_the_date_follow_the_key():
    marts = by_name(small_manifest())

    def condition(name: str) -> str:
        return rows_of_the_date(marts[name], D)[0].as_string(None)

    assert condition("coverage_province") == "\"snapshot_date\" = '2026-11-20'::date"
    assert condition("award_province") == '"year" = 2026'  # its snapshot_date is the year's latest: year wins
    assert condition("award_finalisations") == '"year" = 2026'
    assert condition("coverage_province_month") == "\"month\" <= '2026-11-20'::date"
    assert condition("contributions_district_month") == "\"period\" <= '2026-11-20'::date"
    assert condition("lookup_segment") == "true"
    assert rows_of_the_date(marts["award_province"], D)[1] == "year = 2026"


def test_the_copy_orders_by_the_key_and_writes_values_alike_on_every_server():
    marts = by_name(small_manifest())
    query = mart_query(marts["award_province"], D).as_string(None)
    assert query.startswith("COPY (SELECT \"year\", to_char(\"snapshot_date\", 'YYYY-MM-DD') AS \"snapshot_date\"")
    assert '"eligible"::text AS "eligible"' in query
    assert 'FROM "marts"."award_province" WHERE "year" = 2026' in query
    assert query.endswith('ORDER BY "year", "province_code" COLLATE "C") TO STDOUT WITH (FORMAT csv, HEADER)')
    finalised = mart_query(marts["award_finalisations"], D).as_string(None)
    assert "to_char(\"finalised_at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" in finalised


def test_a_manifest_without_marts_says_which_manifest_to_give(tmp_path):
    with pytest.raises(DataPackageError, match="manifest.json"):
        # Enough of a connection for the checks made before any query.
        write_data_package(SimpleNamespace(info=SimpleNamespace(encoding="utf-8")), {"nodes": {}}, tmp_path, D, keep=3)


def make_package(data: Path, day: str, text: str = "old") -> Path:
    folder = data / day
    folder.mkdir(parents=True)
    (folder / PACKAGE_FILE).write_text(text)
    return folder


def test_retention_keeps_the_newest_dates_and_the_one_just_written(tmp_path):
    data = tmp_path / "data"
    for day in ("2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"):
        make_package(data, day)
    (data / ".2026-11-15.partial-abc").mkdir()  # left by a write that did not finish
    (data / "README.txt").write_text("not a package")
    (data / "notes").mkdir()

    deleted = prune_packages(data, keep=2, written=dt.date(2026, 11, 16))
    assert [path.name for path in deleted] == [".2026-11-15.partial-abc", "2026-11-17", "2026-11-18"]
    assert sorted(path.name for path in data.iterdir()) == ["2026-11-16", "2026-11-19", "2026-11-20", "README.txt",
                                                            "notes"]
    prune_packages(data, keep=2)
    assert sorted(path.name for path in data.iterdir()) == ["2026-11-19", "2026-11-20", "README.txt", "notes"]
    assert prune_packages(tmp_path / "none yet", keep=2) == []
    with pytest.raises(DataPackageError, match="CAKUPAN_DATA_PACKAGES_KEEP is 0: set it to 1 or more"):
        prune_packages(data, keep=0)


def test_a_package_is_replaced_whole(tmp_path):
    data = tmp_path / "data"
    target = make_package(data, "2026-11-20", "old")
    (target / "gone.csv").write_text("a mart no longer published")
    new = data / ".2026-11-20.partial-xyz"
    new.mkdir()
    (new / PACKAGE_FILE).write_text("new")

    replace_folder(new, target)
    assert sorted(path.name for path in data.iterdir()) == ["2026-11-20"]
    assert sorted(path.name for path in target.iterdir()) == [PACKAGE_FILE]
    assert (target / PACKAGE_FILE).read_text() == "new"
    # The first package of a date is simply renamed into place.
    first = data / ".2026-11-21.partial-1"
    first.mkdir()
    replace_folder(first, data / "2026-11-21")
    assert sorted(path.name for path in data.iterdir()) == ["2026-11-20", "2026-11-21"]


# The warehouse: the small night, published, packaged.

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def typed(value: str, field: dict):
    """A CSV value read back by its Table Schema type."""
    if value == "":
        return None
    return {"integer": int, "number": Decimal, "date": dt.date.fromisoformat,
            "datetime": lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")),
            "boolean": {"true": True, "false": False}.__getitem__, "string": str}[field["type"]](value)


@pytest.mark.slow
def test_warehouse_night_package_holds_every_mart_of_the_date(night, tmp_path):
    import psycopg

    from cakupan.orchestration.dag_run import run_nightly
    from cakupan.platform.warehouse import warehouse_url

    run = run_nightly(night, D, docs=False)
    assert run.succeeded, run.failure_summary()
    manifest = json.loads((night.home / "dbt" / "target" / "manifest.json").read_text())
    docs = tmp_path / "site"
    with psycopg.connect(warehouse_url(night, "transformer")) as conn:
        path = write_data_package(conn, manifest, docs, D, keep=night.data_packages_keep)
        assert path == docs / "data" / "2026-11-20" / PACKAGE_FILE
        package = json.loads(path.read_text(encoding="utf-8"))
        (published_at,) = conn.execute("SELECT max(published_at) FROM audit.publications WHERE snapshot_date = %s",
                                       (D,)).fetchone()

        assert package["name"] == "cakupan-marts-2026-11-20"
        assert package["title"].startswith("Cakupan jaminan sosial ketenagakerjaan, posisi 2026-11-20")
        assert package["created"] == published_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert package["licenses"][0]["name"] == "ODbL-1.0" and "idn-area-data" in package["description"]
        assert package["sources"]
        marts = {mart.name: mart for mart in marts_of(manifest)}
        resources = {resource["name"]: resource for resource in package["resources"]}
        assert list(resources) == sorted(marts) and len(marts) >= 19
        assert sorted(p.name for p in path.parent.iterdir()) == sorted([PACKAGE_FILE] + [f"{m}.csv" for m in marts])

        for name, resource in resources.items():
            csv_path = path.parent / resource["path"]
            assert resource["path"] == f"{name}.csv"
            assert (resource["format"], resource["mediatype"], resource["encoding"]) == ("csv", "text/csv", "utf-8")
            assert resource["bytes"] == csv_path.stat().st_size
            assert resource["hash"] == f"sha256:{sha256(csv_path)}"
            assert resource["description"].startswith(marts[name].description)
            columns = [column for (column,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum", (f"marts.{name}",))]
            fields = resource["schema"]["fields"]
            assert [field["name"] for field in fields] == columns, name
            assert all(field["type"] in {"integer", "number", "string", "date", "datetime", "boolean"}
                       for field in fields)
            assert set(resource["schema"].get("primaryKey", [])) <= set(columns)
            condition, _ = rows_of_the_date(marts[name], D)
            (expected_rows,) = conn.execute(f"SELECT count(*) FROM marts.{name} WHERE {condition.as_string(conn)}"
                                            ).fetchone()
            with csv_path.open(encoding="utf-8", newline="") as file:
                reader = csv.reader(file)
                assert next(reader) == columns
                assert sum(1 for _ in reader) == expected_rows == resource["rows"], name

        # coverage_province, value by value, in the key's order.
        resource = resources["coverage_province"]
        assert resource["schema"]["primaryKey"] == ["snapshot_date", "province_code"]
        with (path.parent / "coverage_province.csv").open(encoding="utf-8", newline="") as file:
            written = [tuple(typed(value, field) for value, field in zip(row, resource["schema"]["fields"],
                                                                         strict=True))
                       for row in list(csv.reader(file))[1:]]
        mart = conn.execute("SELECT * FROM marts.coverage_province WHERE snapshot_date = %s "
                            "ORDER BY province_code COLLATE \"C\"", (D,)).fetchall()
        assert written == mart and len(mart) >= 2

        # Written again: the same package, byte for byte.
        before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
        write_data_package(conn, manifest, docs, D, keep=night.data_packages_keep)
        assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before

        # A write that fails halfway (after the marts before coverage_village) leaves the package that was there,
        # and nothing half written.
        broken = json.loads(json.dumps(manifest))
        broken["nodes"]["model.cakupan.coverage_village"]["columns"]["village_name"]["data_type"] = "jsonb"
        with pytest.raises(DataPackageError, match="TABLE_SCHEMA_TYPES"):
            write_data_package(conn, broken, docs, D, keep=night.data_packages_keep)
        assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before
        assert [p.name for p in (docs / "data").iterdir()] == ["2026-11-20"]

        # A mart whose published table is not the manifest's (a new version's first night, failed) is left out.
        ahead = json.loads(json.dumps(manifest))
        ahead["nodes"]["model.cakupan.lookup_program"]["columns"]["new_column"] = {
            "name": "new_column", "data_type": "text", "description": ""}
        package = json.loads(write_data_package(conn, ahead, docs, D, keep=1).read_text(encoding="utf-8"))
        assert [r["name"] for r in package["resources"]] == [name for name in sorted(marts) if name != "lookup_program"]
