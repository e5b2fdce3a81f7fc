"""What BI tools find in the marts: each mart and column described by its dbt description as a database comment,
every code with its names, provinces with their ISO 3166-2 codes, and lookups of the code values; and the same on a
warehouse whose daily marts hold dates from before they had names."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest

from cakupan.ingest.export_contract import FUNDING_SOURCES, OCCUPATIONS, PROGRAMS, SEGMENTS
from cakupan.orchestration.dag_run import run_nightly
from cakupan.platform import db
from cakupan.publish import publication
from cakupan.transform.nightly import build_marts
from small_night_figures import D

pytestmark = pytest.mark.slow

# Each code column, the name that goes with it, and the reference table that names it.
NAMES = {"province_code": ("province_name", "reference.provinces"),
         "district_code": ("district_name", "reference.districts"),
         "subdistrict_code": ("subdistrict_name", "reference.subdistricts"),
         "village_code": ("village_name", "reference.villages")}
# The columns the daily marts gained for BI tools: a warehouse from before them has none.
ADDED_TO_DAILY_MARTS = {"coverage_village": ("province_name", "district_name", "subdistrict_name"),
                        "coverage_district": ("province_name",), "coverage_province": ("province_iso",),
                        "participation_district": ("province_name", "district_name")}


def test_bi_tools_find_the_marts_described_named_and_looked_up(night, empty_warehouse):
    conn = empty_warehouse
    assert run_nightly(night, D).succeeded

    with db.connect(night, "bi") as bi:  # the comments as a BI tool reads them, as cakupan_bi
        assert_described_as_in_dbt(bi, publication.PUBLISHED, manifest(night))
    assert_every_code_has_its_names(conn, publication.PUBLISHED)

    lookups = {table: [code for (code,) in conn.execute(f"SELECT code FROM marts.lookup_{table} ORDER BY code")]
               for table in ("segment", "program", "occupation", "funding_source")}
    assert lookups == {"segment": sorted(SEGMENTS), "program": sorted(PROGRAMS), "occupation": sorted(OCCUPATIONS),
                       "funding_source": sorted(FUNDING_SOURCES)}
    assert {code for (code,) in conn.execute("SELECT code FROM marts.lookup_funding_source WHERE makes_vulnerable")} \
        == {"APBN", "APBD", "APBDES", "DBH_SAWIT", "CSR", "BAZNAS"}
    assert conn.execute("SELECT label_id, label_en FROM marts.lookup_segment WHERE code = 'BPU'").fetchone() == (
        "Bukan penerima upah", "Non-wage earners")
    assert conn.execute("SELECT count(*), count(DISTINCT province_iso) FROM marts.lookup_province").fetchone() == (
        38, 38)
    assert conn.execute("SELECT province_name, province_iso FROM marts.coverage_province "
                        "WHERE snapshot_date = %s AND province_code = '13'", (D,)).fetchone() == (
        "Sumatera Barat", "ID-SB")

    # A warehouse whose daily marts are from before the names. The next night's build, into the candidate: the
    # rows of D are kept as they were, not rebuilt, and get their names.
    rows_of_d = rows_per_daily_mart(conn, publication.PUBLISHED)
    for table, columns in ADDED_TO_DAILY_MARTS.items():
        conn.execute(f"DROP VIEW marts.{publication.latest_view(table)}")  # as old as its table: it had none
        conn.execute(f"ALTER TABLE marts.{table} " + ", ".join(f"DROP COLUMN {column}" for column in columns))
    build_marts(night, D + dt.timedelta(days=1))
    assert rows_per_daily_mart(conn, publication.CANDIDATE) == rows_of_d
    assert_every_code_has_its_names(conn, publication.CANDIDATE)
    # Described, and with the columns in the order of a new warehouse's marts.
    assert_described_as_in_dbt(conn, publication.CANDIDATE, manifest(night))


def manifest(settings) -> dict:
    return json.loads((settings.home / "dbt" / "target" / "manifest.json").read_text())


def rows_per_daily_mart(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    return {table: conn.execute(f"SELECT count(*) FROM {schema}.{table} WHERE snapshot_date = %s", (D,)).fetchone()[0]
            for table in publication.DAILY_MARTS}


def mart_columns(conn: psycopg.Connection, schema: str) -> dict[str, list[str]]:
    """Each table of the schema and its columns, in their order."""
    columns: dict[str, list[str]] = {}
    for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %(schema)s"
            " AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = %(schema)s)"
            " ORDER BY table_name, ordinal_position", {"schema": schema}):
        columns.setdefault(table, []).append(column)
    return columns


def assert_described_as_in_dbt(conn: psycopg.Connection, schema: str, manifest: dict) -> None:
    """Every table of the schema is a mart of the dbt project, commented with its description, and each column
    with its own, in the order of the mart's YAML."""
    marts = {node["name"]: node for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")}
    described: dict[str, tuple[str, dict[str, str]]] = {}
    for table, table_comment, column, column_comment in conn.execute(
            """SELECT c.relname, obj_description(c.oid, 'pg_class'), a.attname, col_description(c.oid, a.attnum)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname, a.attnum""", (schema,)):
        described.setdefault(table, (table_comment, {}))[1][column] = column_comment
    assert described.keys() == marts.keys()
    for table, (comment, columns) in described.items():
        assert comment == marts[table]["description"], table
        expected = {name: column["description"] for name, column in marts[table]["columns"].items()}
        assert list(columns.items()) == list(expected.items()), table


def assert_every_code_has_its_names(conn: psycopg.Connection, schema: str) -> None:
    """Each row with a region code carries the reference's name for it, and a row of a province carries its ISO
    3166-2 code."""
    for table, columns in mart_columns(conn, schema).items():
        for code, (name, reference) in NAMES.items():
            if code not in columns:
                continue
            assert name in columns, (table, code)
            misnamed = conn.execute(
                f"SELECT count(*) FROM {schema}.{table} AS mart LEFT JOIN {reference} USING ({code}) "
                f"WHERE mart.{code} IS NOT NULL AND mart.{name} IS DISTINCT FROM {reference}.{name}").fetchone()[0]
            assert misnamed == 0, (table, name)
        if "province_code" in columns and not {"district_code", "village_code"} & set(columns):
            assert "province_iso" in columns, table
            assert conn.execute(f"SELECT count(*) FROM {schema}.{table} WHERE province_iso IS NULL").fetchone() == (0,)
