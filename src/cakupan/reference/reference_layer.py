"""Whether a night's dbt build may leave the reference layer as the last build left it.

The reference layer is dbt's staging views of the `reference` schema (regions, branches, employed population,
the award rubric) and the tests on them, and dbt's seeds: the contract's code lists and the provinces' ISO
codes, which change with the code alone. The reference changes a few times a year, yet a night that rebuilt
and retested the layer spent 9 views and 21 tests on it, and they held dbt's threads at the start of the
build, before the night's own work could start (docs/decisions.md, change 19).

A build that passed records a fingerprint of everything the layer is made of: every row of the `reference`
schema, the dbt project's code (its seeds with it) and dbt's version. A night whose fingerprint is the same,
and that finds every view and seed table still there, excludes the layer from its build: what the tests would
read is what passed then. Any change (a reference reload, a row written behind the loader's back, a new
rubric, a change to any model, macro or seed) rebuilds and retests the layer that night; a full refresh
always does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import psycopg

# dbt node selection: the reference staging models and the seeds, and with them (indirect selection) every
# test on them.
SELECTOR = "stg_reference__* resource_type:seed"
_CODE = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")


@dataclass(frozen=True)
class ReferenceLayer:
    fingerprint: str
    built_at: str | None  # when a build that passed last built it as it is now; None: it must be built


def reference_relations(dbt_project_dir: Path) -> list[str]:
    """The layer's views and seed tables, all in dbt's staging schema."""
    return sorted([*(path.stem for path in (dbt_project_dir / "models").rglob("stg_reference__*.sql")),
                   *(path.stem for path in (dbt_project_dir / "seeds").glob("*.csv"))])


def _code_digest(dbt_project_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in _CODE:
        top = dbt_project_dir / name
        for path in sorted([top] if top.is_file() else (p for p in top.rglob("*") if p.is_file())):
            digest.update(str(path.relative_to(dbt_project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _rows_digest(conn: psycopg.Connection) -> str:
    """Every table of the `reference` schema, a count and an order-free sum of 64-bit row hashes each: no sort,
    which would cost more than the hashing (docs/decisions.md, change 19)."""
    tables = [name for (name,) in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'reference' AND c.relkind IN ('r', 'p') ORDER BY c.relname")]
    if not tables:
        return ""
    sums = " UNION ALL ".join(
        f"SELECT '{table}', count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM reference.{table} t"
        for table in tables)
    return hashlib.sha256(repr(conn.execute(sums).fetchall()).encode()).hexdigest()


def current(conn: psycopg.Connection, dbt_project_dir: Path) -> ReferenceLayer:
    fingerprint = hashlib.sha256("\n".join((
        _rows_digest(conn), _code_digest(dbt_project_dir), version("dbt-core"), version("dbt-postgres"),
    )).encode()).hexdigest()
    row = conn.execute("SELECT fingerprint, built_at::text FROM audit.reference_layer_builds").fetchone()
    relations = [f"staging.{name}" for name in reference_relations(dbt_project_dir)]
    missing = conn.execute("SELECT count(*) FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL",
                           (relations,)).fetchone()[0]
    unchanged = row is not None and row[0] == fingerprint and relations and not missing
    return ReferenceLayer(fingerprint, row[1] if unchanged else None)


def record_build(conn: psycopg.Connection, layer: ReferenceLayer) -> None:
    """After a build that built and tested the layer, and passed."""
    conn.execute(
        "INSERT INTO audit.reference_layer_builds (fingerprint) VALUES (%s) ON CONFLICT (only_row) "
        "DO UPDATE SET fingerprint = excluded.fingerprint, built_at = now()", (layer.fingerprint,))
