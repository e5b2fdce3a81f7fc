"""Great Expectations checkpoints: the quality gates between raw and dbt, and between dbt and publication.

Suites are data (`expectations/*.yml`, format in expectations/README.md): each names a table and which
rows a run checks, or a query, and its expectations with a severity. `error` failures stop the night
(nothing is published); `warn` failures are published, flagged on the docs site and kept in Data Docs.
GX objects are built lazily in `run_checkpoint`, so importing this module (the DAG does) stays cheap.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DATASOURCE = "warehouse"
DOCS_SITE = "cakupan"
# GX keeps `${VAR}` in its config instead of the URL, so no password lands in the GX project files.
URL_VARIABLE = "CAKUPAN_GX_WAREHOUSE_URL"


class QualityGateFailed(RuntimeError):
    pass


# The words a suite may use for a severity, and GX's own.
SEVERITIES = {"error": "critical", "warn": "warning", "critical": "critical", "warning": "warning"}


@dataclass(frozen=True)
class Suite:
    name: str
    stage: str
    table: str  # what failures are reported against: the table, or the suite's name for a query suite
    rows: str  # "night" (deliveries not yet through the raw gate), "snapshot_date" (rows of D), or "all"
    expectations: list[dict]
    sql: str | None = None  # a query suite: its rows are this query's, with {snapshot_date} and {delivery_ids}

    def query(self, snapshot_date: dt.date, delivery_ids: Sequence[int]) -> str:
        ids = "(" + (", ".join(str(int(i)) for i in delivery_ids) or "NULL") + ")"
        date = f"DATE '{snapshot_date.isoformat()}'"
        if self.sql:
            # GX wants a query asset to start with SELECT; a suite's query may start with WITH.
            return "SELECT * FROM (" + self.sql.replace("{snapshot_date}", date).replace("{delivery_ids}", ids) \
                + ") AS suite_rows"
        if self.rows == "night":
            return f"SELECT * FROM {self.table} WHERE delivery_id IN {ids}"
        if self.rows == "snapshot_date":
            return f"SELECT * FROM {self.table} WHERE snapshot_date = {date}"
        return f"SELECT * FROM {self.table}"


@dataclass(frozen=True)
class CheckpointOutcome:
    stage: str
    success: bool
    evaluated: int
    failed_errors: list[str] = field(default_factory=list)
    failed_warnings: list[str] = field(default_factory=list)
    data_docs_index: Path | None = None
    note: str = ""

    def raise_if_failed(self) -> None:
        if not self.success:
            listing = "\n".join(f"  - {failure}" for failure in self.failed_errors)
            raise QualityGateFailed(
                f"The {self.stage} quality gate failed ({len(self.failed_errors)} errors of {self.evaluated} "
                f"checks); nothing after it is published:\n{listing}\nDetails: {self.data_docs_index}"
            )

    def as_dict(self) -> dict:
        return {
            "stage": self.stage, "success": self.success, "evaluated": self.evaluated,
            "failed_errors": self.failed_errors, "failed_warnings": self.failed_warnings,
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None, "note": self.note,
        }


def load_suites(expectations_dir: Path, stage: str) -> list[Suite]:
    suites = []
    for path in sorted(expectations_dir.glob("*.yml")):
        spec = yaml.safe_load(path.read_text())
        if spec["stage"] != stage:
            continue
        for item in spec["expectations"]:
            if item.get("severity", "error") not in SEVERITIES:
                raise ValueError(f"{path}: severity {item['severity']!r} is not one of error, warn.")
        suites.append(Suite(path.stem, spec["stage"], spec.get("table", path.stem), spec.get("rows", "all"),
                            spec["expectations"], spec.get("query")))
    return suites


def _resolve(value, conn, snapshot_date: dt.date, reading: Callable[[str], str]):
    """A kwarg written as {sql: "..."} takes the query's value at run time (e.g. the reference's size);
    the query may use %(snapshot_date)s."""
    if isinstance(value, dict) and set(value) == {"sql"}:
        return conn.execute(reading(value["sql"]), {"snapshot_date": snapshot_date}).fetchone()[0]
    return value


def _as_written(sql: str) -> str:
    return sql


def _describe(table: str, result) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column") or config.kwargs.get("column_A") or ""
    observed = result.result or {}
    if "unexpected_count" in observed:
        detail = f"{observed['unexpected_count']} rows break it"
        examples = observed.get("partial_unexpected_list") or []
        if examples:
            detail += f", e.g. {examples[:3]}"
    elif "observed_value" in observed:
        detail = f"observed {observed['observed_value']!r}"
    else:
        detail = "see Data Docs"
    what = (config.meta or {}).get("description") or config.type
    return f"{table}{'.' + column if column else ''}: {what} [{config.type}] ({detail})"


def run_checkpoint(
    stage: str, *, warehouse_url: str, snapshot_date: dt.date, gx_root: Path, data_docs_dir: Path,
    expectations_dir: Path, delivery_ids: Sequence[int] = (), reading: Callable[[str], str] = _as_written,
) -> CheckpointOutcome:
    """Run the stage's suites. `reading` rewrites the SQL the suites name, e.g. `publication.in_candidate`
    to check the marts a night built before they are published."""
    suites = load_suites(expectations_dir, stage)
    if stage == "raw" and not delivery_ids:
        return CheckpointOutcome(stage, True, 0, note="no new deliveries tonight: nothing to check")

    import great_expectations as gx
    import psycopg
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from cakupan.warehouse import with_driver

    os.environ[URL_VARIABLE] = with_driver(warehouse_url, "psycopg")
    gx_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=gx_root)
    if context.variables.progress_bars is None:  # a task log is no terminal: no progress bars in it
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    if DOCS_SITE in context.get_config().data_docs_sites:
        context.update_data_docs_site(DOCS_SITE, site)
    else:
        context.add_data_docs_site(DOCS_SITE, site)
    source = context.data_sources.add_or_update_postgres(name=DATASOURCE, connection_string="${" + URL_VARIABLE + "}")

    definitions = []
    with psycopg.connect(warehouse_url) as conn:
        for suite in suites:
            if suite.name in source.get_asset_names():
                source.delete_asset(suite.name)
            asset = source.add_query_asset(suite.name, query=reading(suite.query(snapshot_date, delivery_ids)))
            batch = asset.add_batch_definition_whole_table("rows")
            expectations = [
                ExpectationConfiguration(
                    type=item["type"],
                    kwargs={key: _resolve(value, conn, snapshot_date, reading)
                            for key, value in (item.get("kwargs") or {}).items()},
                    meta={"description": item.get("description", "")},
                    severity=SEVERITIES[item.get("severity", "error")],
                ).to_domain_obj()
                for item in suite.expectations
            ]
            gx_suite = context.suites.add_or_update(ExpectationSuite(name=suite.name, expectations=expectations))
            definitions.append(context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
            ))
    # Counts only in the result: raw rows carry pseudonyms, which must not be copied into the docs site.
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 0 if stage == "raw" else 5}
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"{stage}_checkpoint", validation_definitions=definitions,
        actions=[UpdateDataDocsAction(name="update_data_docs", site_names=[DOCS_SITE])],
        result_format=result_format,
    ))
    result = checkpoint.run()
    by_suite = {run_result.suite_name: run_result for run_result in result.run_results.values()}

    errors: list[str] = []
    warnings: list[str] = []
    evaluated = 0
    for suite in suites:
        for expectation_result in by_suite[suite.name].results:
            evaluated += 1
            if expectation_result.success:
                continue
            severity = getattr(expectation_result.expectation_config.severity, "value", "critical")
            (warnings if severity != "critical" else errors).append(_describe(suite.table, expectation_result))
    return CheckpointOutcome(stage, not errors, evaluated, errors, warnings, data_docs_dir / "index.html")
