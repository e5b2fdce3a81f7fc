"""The downloadable data package of a night: every published mart's rows of that date as CSV, described by a
Frictionless Data Package (v1) `datapackage.json`, under `<docs>/data/<YYYY-MM-DD>/` of the reviewers' site.

Which marts: every model of the dbt project's marts folder (custom schema `marts`) that the manifest lists,
read from the published schema `marts`, which holds aggregates only: no person is ever in a package.

Which rows of a mart are "of the date" D, decided by the mart's key (the columns of its dbt unique test; all
its columns when it has none), first rule that applies:

1. the key has `year` (the award marts and `award_finalisations`): the rows of D's year. The award marts'
   `snapshot_date` names the year's latest snapshot and moves, so `year` wins over it;
2. the key has `snapshot_date` (the daily marts): the rows of D;
3. the key has `month` or `period` (the monthly trends, contributions): every month up to D's, a month being
   named by its first day;
4. otherwise (the lookups): every row.

Views such as the daily marts' `*_latest` are made by publishing, not by dbt, so they are not in a package; nor
is a mart whose published table is missing or has other columns than the manifest says (the log says which).

The package is written to a hidden folder beside its place and renamed into it, so a reader finds the
previous package or the new one, whole (at worst, for the instant between two renames, none). Written again,
a date's package is the same byte for byte as long as its marts are: rows are ordered by the key, values are
written independently of the session's settings, and `created` is the date's publication time.
Only one writer at a time is supported: the nights, which build the site, run one at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg import pq, sql

from cakupan.errors import UserError
from cakupan.publish.publication import PUBLISHED
from cakupan.reference.region_package import ATTRIBUTION_EN

log = logging.getLogger("cakupan.docs")

DATA_FOLDER = "data"
PACKAGE_FILE = "datapackage.json"
DBT_PACKAGE = "cakupan"
MARTS_CUSTOM_SCHEMA = "marts"
DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
# A write that has not finished (or a replaced package not yet deleted) is hidden, so never served.
UNFINISHED_PREFIX = "."

# The contract's data types (dbt `data_type`, PostgreSQL's names) as Table Schema v1 types.
TABLE_SCHEMA_TYPES = {
    "smallint": "integer", "integer": "integer", "int": "integer", "bigint": "integer",
    "int2": "integer", "int4": "integer", "int8": "integer",
    "numeric": "number", "decimal": "number", "real": "number", "double precision": "number",
    "float4": "number", "float8": "number",
    "text": "string", "character varying": "string", "varchar": "string", "character": "string", "char": "string",
    "date": "date",
    "timestamp with time zone": "datetime", "timestamptz": "datetime",
    "timestamp without time zone": "datetime", "timestamp": "datetime",
    "boolean": "boolean", "bool": "boolean",
}
# The region names come from idn-area-data (ODbL 1.0), so the package, a database derived from it, is shared
# under the same licence (README, "Credits and licences").
LICENSES = [{
    "name": "ODbL-1.0",
    "title": "Open Data Commons Open Database License (ODbL) 1.0",
    "path": "https://opendatacommons.org/licenses/odbl/1-0/",
}]
SOURCES = [
    {"title": "BPJS Ketenagakerjaan: ekspor harian kantor cabang (branch offices' daily exports)"},
    {"title": "idn-area-data 4.0.1: kode dan nama wilayah Kepmendagri (Kepmendagri region codes and names)",
     "path": "https://github.com/fityannugroho/idn-area-data"},
    {"title": "BPS Sakernas (Agustus): penduduk bekerja per kabupaten/kota (employed population per district)"},
]


class DataPackageError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str
    required: bool


@dataclass(frozen=True)
class Mart:
    name: str
    description: str
    columns: tuple[Column, ...]
    # The columns of the model's unique test; None when it has none.
    key: tuple[str, ...] | None

    @property
    def order(self) -> tuple[str, ...]:
        return self.key or tuple(column.name for column in self.columns)


def table_schema_type(data_type: str) -> str:
    """The Table Schema type of a contract's data type (`numeric(12,2)` is `numeric`)."""
    base = " ".join(re.sub(r"\(.*?\)", " ", data_type or "").lower().split())
    if base not in TABLE_SCHEMA_TYPES:
        raise DataPackageError(
            f"No Table Schema type for the data type {data_type!r}: add it to TABLE_SCHEMA_TYPES in "
            f"{Path(__file__).name}, or give the mart's column a type that has one.")
    return TABLE_SCHEMA_TYPES[base]


def _model_keys(manifest: dict) -> dict[str, tuple[str, ...]]:
    """The smallest unique column set each model's dbt tests give (`unique_combination`, or `unique`)."""
    keys: dict[str, list[tuple[str, ...]]] = {}
    for node in manifest.get("nodes", {}).values():
        test = node.get("test_metadata") or {}
        model = node.get("attached_node")
        if node.get("resource_type") != "test" or not model:
            continue
        kwargs = test.get("kwargs") or {}
        if test.get("name") == "unique_combination" and kwargs.get("combination"):
            keys.setdefault(model, []).append(tuple(kwargs["combination"]))
        elif test.get("name") == "unique" and kwargs.get("column_name"):
            keys.setdefault(model, []).append((kwargs["column_name"],))
    return {model: min(found, key=lambda key: (len(key), key)) for model, found in keys.items()}


def _not_null_tested(manifest: dict) -> set[tuple[str, str]]:
    return {(node["attached_node"], node["test_metadata"]["kwargs"]["column_name"])
            for node in manifest.get("nodes", {}).values()
            if node.get("resource_type") == "test" and node.get("attached_node")
            and (node.get("test_metadata") or {}).get("name") == "not_null"
            and node["test_metadata"].get("kwargs", {}).get("column_name")}


def marts_of(manifest: dict) -> list[Mart]:
    """The marts the manifest lists, by name. The nightly build puts them in the candidate schema, so they are
    told by their configured schema (`marts`), not by the one dbt built them in."""
    keys = _model_keys(manifest)
    not_null_tested = _not_null_tested(manifest)
    found = []
    for unique_id, node in manifest.get("nodes", {}).items():
        if (node.get("resource_type") != "model" or node.get("package_name") != DBT_PACKAGE
                or (node.get("config") or {}).get("schema") != MARTS_CUSTOM_SCHEMA):
            continue
        columns = tuple(
            Column(name=column["name"], data_type=column.get("data_type") or "",
                   description=(column.get("description") or "").strip(),
                   required=any(c.get("type") == "not_null" for c in column.get("constraints") or [])
                   or (unique_id, column["name"]) in not_null_tested)
            for column in node.get("columns", {}).values())
        if not columns:
            raise DataPackageError(f"dbt's manifest lists no columns of the mart {node['name']}: describe them in "
                                   f"its YAML (a contract), then generate the manifest again.")
        found.append(Mart(name=node.get("alias") or node["name"], description=(node.get("description") or "").strip(),
                          columns=columns, key=keys.get(unique_id)))
    return sorted(found, key=lambda mart: mart.name)


def rows_of_the_date(mart: Mart, snapshot_date: dt.date) -> tuple[sql.Composable, str]:
    """The condition on the mart's rows that belong to the package of `snapshot_date` (the module's rules),
    and the same in words for the resource's description."""
    order = mart.order
    if "year" in order:
        return (sql.SQL("{} = {}").format(sql.Identifier("year"), sql.Literal(snapshot_date.year)),
                f"year = {snapshot_date.year}")
    if "snapshot_date" in order:
        return (sql.SQL("{} = {}").format(sql.Identifier("snapshot_date"), sql.Literal(snapshot_date)),
                f"snapshot_date = {snapshot_date.isoformat()}")
    for month in ("month", "period"):
        if month in order:
            return (sql.SQL("{} <= {}").format(sql.Identifier(month), sql.Literal(snapshot_date)),
                    f"{month} <= {snapshot_date.isoformat()}")
    return sql.SQL("true"), "semua baris (all rows)"


def table_schema(mart: Mart) -> dict:
    """The resource's Table Schema: every column in order, and the key as primary key when no key column may be
    null (Table Schema's primary key admits no null; `contributions_district_month` keeps unplaced payments with
    a null district)."""
    fields = []
    for column in mart.columns:
        described = {"name": column.name, "type": table_schema_type(column.data_type)}
        if column.description:
            described["description"] = column.description
        if column.required:
            described["constraints"] = {"required": True}
        fields.append(described)
    schema: dict = {"fields": fields}
    required = {column.name for column in mart.columns if column.required}
    if mart.key and set(mart.key) <= required:
        schema["primaryKey"] = list(mart.key)
    return schema


def _written(column: Column) -> sql.Composable:
    """The column as the CSV holds it: dates and times ISO 8601 (times in UTC) and booleans as true/false,
    whatever the session's DateStyle and TimeZone; every other type as PostgreSQL writes it."""
    name = sql.Identifier(column.name)
    kind, data_type = table_schema_type(column.data_type), column.data_type.lower()
    if kind == "date":
        expression = sql.SQL("to_char({}, 'YYYY-MM-DD')").format(name)
    elif kind == "datetime" and ("with time zone" in data_type or data_type == "timestamptz"):
        expression = sql.SQL("""to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""").format(name)
    elif kind == "datetime":
        expression = sql.SQL("""to_char({}, 'YYYY-MM-DD"T"HH24:MI:SS.US')""").format(name)
    elif kind == "boolean":
        expression = sql.SQL("{}::text").format(name)
    else:
        return name
    return sql.SQL("{} AS {}").format(expression, name)


def mart_query(mart: Mart, snapshot_date: dt.date) -> sql.Composed:
    """The COPY of the mart's rows of the date, ordered by its key (text in byte order, not the server's
    collation, so that every server orders alike)."""
    condition, _ = rows_of_the_date(mart, snapshot_date)
    text_columns = {c.name for c in mart.columns if table_schema_type(c.data_type) == "string"}
    order = [sql.SQL('{} COLLATE "C"').format(sql.Identifier(name)) if name in text_columns
             else sql.Identifier(name) for name in mart.order]
    select = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
        sql.SQL(", ").join(_written(column) for column in mart.columns), sql.Identifier(PUBLISHED, mart.name),
        condition, sql.SQL(", ").join(order))
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(select)


def _in_table_order(conn: psycopg.Connection, mart: Mart, snapshot_date: dt.date) -> Mart | None:
    """The mart with its columns in the published table's order; None, said in the log, when the published
    table is missing or has other columns than the manifest: a new version's first night, failed before
    publishing, leaves the old tables, and the site it builds, to say so, must not fail on them."""
    names = [name for (name,) in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (f"{PUBLISHED}.{mart.name}",))]
    by_name = {column.name: column for column in mart.columns}
    if not names:
        log.warning("Data package %s: %s.%s is not published yet: left out.", snapshot_date, PUBLISHED, mart.name)
        return None
    if set(names) != set(by_name):
        log.warning("Data package %s: %s.%s is left out: its columns %s are not those of dbt's manifest %s. The next "
                    "published night brings them in step; if it was published, the manifest is not of the dbt "
                    "project that published it: generate it again with that project.",
                    snapshot_date, PUBLISHED, mart.name, names, list(by_name))
        return None
    return replace(mart, columns=tuple(by_name[name] for name in names))


def _created(conn: psycopg.Connection, snapshot_date: dt.date) -> str:
    (published_at,) = conn.execute(
        "SELECT max(published_at) FROM audit.publications WHERE snapshot_date = %s", (snapshot_date,)).fetchone()
    if published_at is None:
        log.warning("Data package %s: the date was never published; its daily marts have no rows of it.",
                    snapshot_date)
        published_at = dt.datetime.now(dt.UTC)
    return published_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _copy_to_file(conn: psycopg.Connection, query: sql.Composed, path: Path) -> tuple[int, int, str]:
    """Stream the COPY into `path`, chunk by chunk as the server sends it: (rows, bytes, sha256 hex)."""
    digest, size = hashlib.sha256(), 0
    with conn.cursor() as cursor, path.open("wb") as file:
        with cursor.copy(query) as copy:
            for chunk in copy:
                file.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        return cursor.rowcount, size, digest.hexdigest()


def _resource(mart: Mart, snapshot_date: dt.date, rows: int, size: int, sha256: str) -> dict:
    _, selection = rows_of_the_date(mart, snapshot_date)
    return {
        "profile": "tabular-data-resource",
        "name": mart.name,
        "path": f"{mart.name}.csv",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "description": "\n\n".join(filter(None, [
            mart.description, f"Baris dalam paket ini (rows in this package): {selection}."])),
        "dialect": {"delimiter": ",", "doubleQuote": True, "lineTerminator": "\n", "quoteChar": '"', "header": True},
        "bytes": size,
        "hash": f"sha256:{sha256}",
        "rows": rows,
        "schema": table_schema(mart),
    }


def descriptor(snapshot_date: dt.date, created: str, resources: list[dict]) -> dict:
    day = snapshot_date.isoformat()
    return {
        "profile": "tabular-data-package",
        "name": f"cakupan-marts-{day}",
        "title": f"Cakupan jaminan sosial ketenagakerjaan, posisi {day} "
                 f"(Labour social-security coverage in Indonesia, as of {day})",
        "description": (
            f"Mart Cakupan yang diterbitkan untuk tanggal {day}: angka agregat per wilayah, tanpa data pribadi. "
            f"The marts Cakupan published for {day}: aggregate figures per region, no personal data. {ATTRIBUTION_EN}"),
        "created": created,
        "licenses": LICENSES,
        "sources": SOURCES,
        "resources": resources,
    }


def _check_keep(keep: int) -> None:
    if keep < 1:
        raise DataPackageError(f"CAKUPAN_DATA_PACKAGES_KEEP is {keep}: set it to 1 or more (the night's own package "
                               f"is always kept).")


def prune_packages(data_dir: Path, keep: int, written: dt.date | None = None) -> list[Path]:
    """Delete all but the newest `keep` date folders (never the one just `written`, even when older, as a
    backfill's is), and whatever an unfinished write left; returns what was deleted."""
    _check_keep(keep)
    if not data_dir.is_dir():
        return []
    dates = sorted((path for path in data_dir.iterdir() if path.is_dir() and DATE_FOLDER.fullmatch(path.name)),
                   key=lambda path: path.name, reverse=True)
    doomed = [path for path in dates[keep:] if written is None or path.name != written.isoformat()]
    doomed += [path for path in data_dir.iterdir() if path.is_dir() and path.name.startswith(UNFINISHED_PREFIX)]
    for path in sorted(doomed):
        shutil.rmtree(path)
        if path.name.startswith(UNFINISHED_PREFIX):
            log.info("Data packages: %s, left by a write that did not finish, deleted.", path.name)
        else:
            log.info("Data package %s deleted (CAKUPAN_DATA_PACKAGES_KEEP=%d).", path.name, keep)
    return sorted(doomed)


def replace_folder(new: Path, target: Path) -> None:
    """Put the finished folder `new` at `target`, in place of any older one, by renames on one file system."""
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f"{UNFINISHED_PREFIX}{target.name}.replaced-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)  # the previous package back rather than none
        raise
    shutil.rmtree(old)


def write_data_package(conn: psycopg.Connection, manifest: dict, docs_dir: Path, snapshot_date: dt.date,
                       keep: int) -> Path:
    """Write `<docs_dir>/data/<date>/` (a CSV per published mart and `datapackage.json`), keep the newest `keep`
    packages, and return the path of the `datapackage.json`.

    `manifest` is dbt's `target/manifest.json`, parsed. On a connection with no transaction open, the marts
    are read in one read-only repeatable-read transaction, so a night publishing meanwhile is not half seen;
    inside the caller's transaction they are read as it sees them."""
    _check_keep(keep)
    if conn.info.encoding != "utf-8":
        raise DataPackageError(f"The warehouse connection's client encoding is {conn.info.encoding}, and the data "
                               f"package is UTF-8: connect with client_encoding=UTF8.")
    marts = marts_of(manifest)
    if not marts:
        raise DataPackageError("dbt's manifest lists no mart (no model of schema marts in package cakupan): pass "
                               "the manifest of the project's dbt build (<home>/dbt/target/manifest.json).")
    started = time.monotonic()
    data_dir = docs_dir / DATA_FOLDER
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / snapshot_date.isoformat()
    unfinished = Path(tempfile.mkdtemp(prefix=f"{UNFINISHED_PREFIX}{target.name}.partial-", dir=data_dir))
    try:
        unfinished.chmod(0o755)  # mkdtemp's folder is the owner's alone; the site's server must read it
        resources = []
        ours = conn.info.transaction_status == pq.TransactionStatus.IDLE
        with conn.transaction():
            if ours:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            created = _created(conn, snapshot_date)
            for mart in marts:
                published = _in_table_order(conn, mart, snapshot_date)
                if published is None:
                    continue
                rows, size, sha256 = _copy_to_file(conn, mart_query(published, snapshot_date),
                                                   unfinished / f"{mart.name}.csv")
                log.info("Data package %s: %s, %d rows (%d bytes).", snapshot_date, mart.name, rows, size)
                resources.append(_resource(published, snapshot_date, rows, size, sha256))
        package = descriptor(snapshot_date, created, resources)
        (unfinished / PACKAGE_FILE).write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
        replace_folder(unfinished, target)
    except BaseException:
        shutil.rmtree(unfinished, ignore_errors=True)
        raise
    prune_packages(data_dir, keep, written=snapshot_date)
    log.info("Data package %s: %d marts, %d bytes, in %.1f s: %s", snapshot_date, len(resources),
             sum(resource["bytes"] for resource in resources), time.monotonic() - started, target)
    return target / PACKAGE_FILE
