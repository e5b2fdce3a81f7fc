"""`gx_vs_sql` and `gx_statements` of `make bench`: what the raw GX gate costs against one hand-written SQL pass.

The GX side is the raw checkpoint exactly as the nightly runs it (`quality.run_checkpoint`), on the deliveries
awaiting the raw gate. The SQL side computes, from the same suite files and the same asset queries of
`great_expectations.yml`, every expectation's verdict in one statement per asset. The two must agree on every
verdict and every unexpected count, or the comparison would not be of the same work: a disagreement raises
`HandWrittenPassDisagrees`. An expectation type the hand-written pass cannot compute raises
`UnsupportedExpectation`, so a new kind of check is never silently left out of the comparison.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from cakupan.gates.quality import CHECKPOINTS, run_checkpoint
from cakupan.platform.warehouse import warehouse_url
from cakupan.settings import Settings

STAGE = "raw"


class UnsupportedExpectation(ValueError):
    pass


class HandWrittenPassDisagrees(AssertionError):
    pass


@dataclass(frozen=True)
class Expectation:
    suite: str
    type: str
    kwargs: dict

    @property
    def key(self) -> tuple[str, str, str]:
        """How a GX result is matched to its expectation: results come back in GX's order, not the suite's, an
        expectation added by hand may have no id, and GX may store 13 as 13.0."""
        kwargs = {name: _as_float(value) for name, value in self.kwargs.items() if name != "batch_id"}
        return self.suite, self.type, json.dumps(kwargs, sort_keys=True)


def _as_float(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return [_as_float(item) for item in value] if isinstance(value, list) else value


@dataclass(frozen=True)
class SuiteOnAsset:
    """One validation definition of the checkpoint: a suite and the query of the asset it reads."""
    suite: str
    query: str
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True)
class Verdict:
    success: bool
    unexpected_count: int | None = None
    observed_value: float | None = None


# --- what the checkpoint checks, read from the GX project's files -------------------------------------------

def _asset_query(asset: dict, name: str) -> str:
    if asset["type"] == "query":
        return asset["query"]
    if asset["type"] == "table":
        table = ".".join(f'"{part}"' for part in (asset.get("schema_name"), asset["table_name"]) if part)
        return f"SELECT * FROM {table}"
    raise UnsupportedExpectation(f"GX asset {name!r} is of type {asset['type']!r}: only query and table assets.")


def checkpoint_suites(expectations_dir: Path, stage: str = STAGE) -> list[SuiteOnAsset]:
    """Every suite the stage's checkpoint validates, with the rows it reads (its asset's whole batch)."""
    project = yaml.safe_load((expectations_dir / "great_expectations.yml").read_text())
    checkpoint = json.loads((expectations_dir / "checkpoints" / f"{CHECKPOINTS[stage]}.json").read_text())
    suites = []
    for reference in checkpoint["validation_definitions"]:
        definition = json.loads(
            (expectations_dir / "validation_definitions" / f"{reference['name']}.json").read_text())
        data = definition["data"]
        asset = project["fluent_datasources"][data["datasource"]["name"]]["assets"][data["asset"]["name"]]
        batch = asset["batch_definitions"][data["batch_definition"]["name"]]
        if batch.get("partitioner"):
            raise UnsupportedExpectation(f"batch definition {data['batch_definition']['name']!r} of asset "
                                         f"{data['asset']['name']!r} has a partitioner: only whole-asset batches.")
        suite_name = definition["suite"]["name"]
        suite = json.loads((expectations_dir / "expectations" / f"{suite_name}.json").read_text())
        suites.append(SuiteOnAsset(
            suite_name, _asset_query(asset, data["asset"]["name"]),
            tuple(Expectation(suite_name, e["type"], e.get("kwargs", {})) for e in suite["expectations"]),
        ))
    return suites


# --- the hand-written pass ------------------------------------------------------------------------------------
# Each expectation type has its aggregates over the batch (named SQL expressions) and a verdict computed from
# their values by GX's own rules: map expectations count the unexpected rows among the rows they consider (nulls
# are not considered, except by not_be_null) and pass when (considered - unexpected) / considered >= mostly,
# vacuously when nothing is considered; aggregate expectations compare one observed value with min/max.

Counts = dict[str, sql.Composable]


def _column(e: Expectation, name: str = "column") -> sql.Identifier:
    return sql.Identifier(e.kwargs[name])


def _count_where(condition: sql.Composable) -> sql.Composable:
    return sql.SQL("count(*) FILTER (WHERE {})").format(condition)


def _nonnull(column: sql.Composable) -> sql.Composable:
    return sql.SQL("count({})").format(column)


def _not_null_counts(e: Expectation) -> Counts:
    return {"unexpected": _count_where(sql.SQL("{} IS NULL").format(_column(e))), "considered": sql.SQL("count(*)")}


def _regex_counts(e: Expectation) -> Counts:
    condition = sql.SQL("{c} IS NOT NULL AND NOT ({c} ~ {r})").format(c=_column(e), r=sql.Literal(e.kwargs["regex"]))
    return {"unexpected": _count_where(condition), "considered": _nonnull(_column(e))}


def _length_counts(e: Expectation) -> Counts:
    condition = sql.SQL("{c} IS NOT NULL AND length({c}) <> {n}").format(c=_column(e), n=sql.Literal(e.kwargs["value"]))
    return {"unexpected": _count_where(condition), "considered": _nonnull(_column(e))}


def _in_set_counts(e: Expectation) -> Counts:
    if not e.kwargs["value_set"]:
        raise UnsupportedExpectation(f"{e.suite}: {e.type} with an empty value_set")
    condition = sql.SQL("{c} IS NOT NULL AND {c} NOT IN ({values})").format(
        c=_column(e), values=sql.SQL(", ").join(sql.Literal(value) for value in e.kwargs["value_set"]))
    return {"unexpected": _count_where(condition), "considered": _nonnull(_column(e))}


def _between_counts(e: Expectation) -> Counts:
    """GX's `column_values.between`: bounds inclusive unless strict, a missing bound is no bound."""
    column, bounds = _column(e), []
    if e.kwargs.get("min_value") is not None:
        bounds.append(sql.SQL("{} {} {}").format(column, sql.SQL(">" if e.kwargs.get("strict_min") else ">="),
                                                  sql.Literal(e.kwargs["min_value"])))
    if e.kwargs.get("max_value") is not None:
        bounds.append(sql.SQL("{} {} {}").format(column, sql.SQL("<" if e.kwargs.get("strict_max") else "<="),
                                                  sql.Literal(e.kwargs["max_value"])))
    if not bounds:
        raise UnsupportedExpectation(f"{e.suite}: {e.type} without min_value or max_value")
    condition = sql.SQL("{} IS NOT NULL AND NOT ({})").format(column, sql.SQL(" AND ").join(bounds))
    return {"unexpected": _count_where(condition), "considered": _nonnull(column)}


def _unique_counts(e: Expectation) -> Counts:
    # Every row whose value occurs more than once is unexpected, not only the extra copies (GX's count).
    duplicated = sql.SQL("(SELECT coalesce(sum(copies), 0)::bigint FROM (SELECT count(*) AS copies FROM batch "
                         "WHERE {c} IS NOT NULL GROUP BY {c} HAVING count(*) > 1) AS duplicated)").format(c=_column(e))
    return {"unexpected": duplicated, "considered": _nonnull(_column(e))}


_IGNORED_ROWS = {
    "both_values_are_missing": "{a} IS NULL AND {b} IS NULL",
    "either_value_is_missing": "{a} IS NULL OR {b} IS NULL",
    "neither": "false",
}


def _pair_counts(e: Expectation, holds: str) -> Counts:
    """A check of two columns of each row: a row is considered unless ignore_row_if drops it, and unexpected when
    either value is missing or `holds` (an SQL comparison of {a} and {b}) does not."""
    a, b = _column(e, "column_A"), _column(e, "column_B")
    ignore = e.kwargs.get("ignore_row_if", "both_values_are_missing")
    if ignore not in _IGNORED_ROWS:
        raise UnsupportedExpectation(f"{e.suite}: {e.type} with ignore_row_if={ignore!r}")
    considered = sql.SQL("NOT (" + _IGNORED_ROWS[ignore] + ")").format(a=a, b=b)
    failing = sql.SQL("{considered} AND ({a} IS NULL OR {b} IS NULL OR NOT (" + holds + "))").format(
        considered=considered, a=a, b=b)
    return {"unexpected": _count_where(failing), "considered": _count_where(considered)}


def _pair_equal_counts(e: Expectation) -> Counts:
    return _pair_counts(e, "{a} = {b}")


def _pair_greater_counts(e: Expectation) -> Counts:
    return _pair_counts(e, "{a} >= {b}" if e.kwargs.get("or_equal") else "{a} > {b}")


def _row_count_counts(e: Expectation) -> Counts:
    return {"rows": sql.SQL("count(*)")}


def _unique_proportion_counts(e: Expectation) -> Counts:
    # In a subquery of its own: a DISTINCT aggregate beside the others would keep them from running in parallel.
    distinct = sql.SQL("(SELECT count(DISTINCT {}) FROM batch)").format(_column(e))
    return {"distinct": distinct, "nonnull": _nonnull(_column(e))}


def _unexpected_rows_counts(e: Expectation) -> Counts:
    # GX runs the query with {batch} standing for the asset's rows; here `batch` names the same rows.
    query = sql.SQL(e.kwargs["unexpected_rows_query"].replace("{batch}", "batch"))
    return {"unexpected_rows": sql.SQL("(SELECT count(*) FROM ({}) AS unexpected_rows)").format(query)}


def _between(value: float, kwargs: dict) -> bool:
    above = kwargs.get("min_value") is None or (
        value > kwargs["min_value"] if kwargs.get("strict_min") else value >= kwargs["min_value"])
    below = kwargs.get("max_value") is None or (
        value < kwargs["max_value"] if kwargs.get("strict_max") else value <= kwargs["max_value"])
    return above and below


def _map_verdict(e: Expectation, counts: dict, batch_rows: int) -> Verdict:
    unexpected, considered = counts["unexpected"], counts["considered"]
    vacuous = batch_rows == 0 or considered == 0
    success = vacuous or (considered - unexpected) / considered >= e.kwargs.get("mostly", 1.0)
    return Verdict(success, unexpected_count=unexpected)


def _row_count_verdict(e: Expectation, counts: dict, batch_rows: int) -> Verdict:
    return Verdict(_between(counts["rows"], e.kwargs), observed_value=counts["rows"])


def _unique_proportion_verdict(e: Expectation, counts: dict, batch_rows: int) -> Verdict:
    proportion = counts["distinct"] / counts["nonnull"] if batch_rows and counts["nonnull"] else 0
    return Verdict(_between(proportion, e.kwargs), observed_value=proportion)


def _unexpected_rows_verdict(e: Expectation, counts: dict, batch_rows: int) -> Verdict:
    return Verdict(counts["unexpected_rows"] == 0, observed_value=counts["unexpected_rows"])


_MAP = {"mostly"}
_BETWEEN = {"min_value", "max_value", "strict_min", "strict_max"}
# type -> (the kwargs it understands, its aggregates, its verdict). Anything else is refused, not guessed.
SUPPORTED: dict[str, tuple[set[str], Callable[[Expectation], Counts], Callable[..., Verdict]]] = {
    "expect_column_values_to_not_be_null": ({"column"} | _MAP, _not_null_counts, _map_verdict),
    "expect_column_values_to_match_regex": ({"column", "regex"} | _MAP, _regex_counts, _map_verdict),
    "expect_column_value_lengths_to_equal": ({"column", "value"} | _MAP, _length_counts, _map_verdict),
    "expect_column_values_to_be_in_set": ({"column", "value_set"} | _MAP, _in_set_counts, _map_verdict),
    "expect_column_values_to_be_between": ({"column"} | _BETWEEN | _MAP, _between_counts, _map_verdict),
    "expect_column_values_to_be_unique": ({"column"} | _MAP, _unique_counts, _map_verdict),
    "expect_column_pair_values_to_be_equal": ({"column_A", "column_B", "ignore_row_if"} | _MAP, _pair_equal_counts,
                                              _map_verdict),
    "expect_column_pair_values_a_to_be_greater_than_b": ({"column_A", "column_B", "or_equal", "ignore_row_if"} | _MAP,
                                                         _pair_greater_counts, _map_verdict),
    "expect_table_row_count_to_be_between": (_BETWEEN, _row_count_counts, _row_count_verdict),
    "expect_column_proportion_of_unique_values_to_be_between": ({"column"} | _BETWEEN, _unique_proportion_counts,
                                                                _unique_proportion_verdict),
    "unexpected_rows_expectation": ({"unexpected_rows_query"}, _unexpected_rows_counts, _unexpected_rows_verdict),
}


def _supported(e: Expectation) -> tuple[Callable[[Expectation], Counts], Callable[..., Verdict]]:
    if e.type not in SUPPORTED:
        raise UnsupportedExpectation(
            f"{e.suite}: {e.type} has no hand-written SQL in cakupan.bench.bench_gx; add it to SUPPORTED so gx_vs_sql "
            f"compares the same checks (supported: {', '.join(sorted(SUPPORTED))}).")
    understood, counts, verdict = SUPPORTED[e.type]
    unknown = set(e.kwargs) - understood - {"batch_id"}
    if unknown:
        raise UnsupportedExpectation(f"{e.suite}: {e.type} with {', '.join(sorted(unknown))} is not supported by "
                                     "the hand-written pass in cakupan.bench.bench_gx.")
    return counts, verdict


def suite_statement(suite: SuiteOnAsset) -> sql.Composed:
    """One statement over the asset's rows: its row count and every expectation's aggregates, one row."""
    columns = [sql.SQL("count(*) AS batch_rows")]
    for index, expectation in enumerate(suite.expectations):
        counts, _ = _supported(expectation)
        for name, expression in counts(expectation).items():
            columns.append(sql.SQL("{} AS {}").format(expression, sql.Identifier(f"e{index}_{name}")))
    # NOT MATERIALIZED: every reference is planned as the asset's query itself, so each part of the statement
    # can scan in parallel (a materialised CTE is read by one process).
    return sql.SQL("WITH batch AS NOT MATERIALIZED ({query})\nSELECT {columns}\nFROM batch").format(
        query=sql.SQL(suite.query), columns=sql.SQL(",\n       ").join(columns))


def hand_written_verdicts(conn: psycopg.Connection, suites: list[SuiteOnAsset]) -> dict[tuple, Verdict]:
    verdicts = {}
    for suite in suites:
        cursor = conn.execute(suite_statement(suite))
        row = dict(zip((column.name for column in cursor.description), cursor.fetchone(), strict=True))
        for index, expectation in enumerate(suite.expectations):
            _, verdict = _supported(expectation)
            prefix = f"e{index}_"
            counts = {name[len(prefix):]: value for name, value in row.items() if name.startswith(prefix)}
            verdicts[expectation.key] = verdict(expectation, counts, row["batch_rows"])
    return verdicts


# --- GX's verdicts, from the validation results the checkpoint stored ----------------------------------------

def gx_verdicts(results_dir: Path) -> dict[tuple, Verdict]:
    verdicts = {}
    for path in sorted(results_dir.rglob("*.json")):
        validation = json.loads(path.read_text())
        for result in validation["results"]:
            config = result["expectation_config"]
            observed = result.get("result") or {}
            key = Expectation(validation["suite_name"], config["type"], config["kwargs"]).key
            verdicts[key] = Verdict(result["success"], observed.get("unexpected_count"), observed.get("observed_value"))
    return verdicts


def check_agreement(gx: dict[tuple, Verdict], hand_written: dict[tuple, Verdict]) -> None:
    """Same expectations, same verdicts, same unexpected counts (and observed values) where GX reports them."""
    problems = []
    for key in sorted(set(gx) | set(hand_written)):
        mine, theirs = hand_written.get(key), gx.get(key)
        if mine is None or theirs is None:
            problems.append(f"{key[0]} {key[1]} {key[2]}: only {'GX' if mine is None else 'the SQL pass'} checked it")
            continue
        same = mine.success == theirs.success
        if theirs.unexpected_count is not None:
            same &= mine.unexpected_count == theirs.unexpected_count
        if isinstance(theirs.observed_value, (int, float)):
            same &= mine.observed_value is not None and abs(mine.observed_value - theirs.observed_value) <= 1e-9
        if not same:
            problems.append(f"{key[0]} {key[1]} {key[2]}: GX {theirs}, SQL {mine}")
    if problems:
        raise HandWrittenPassDisagrees("The hand-written SQL pass does not compute what the raw checkpoint does, "
                                       "so gx_vs_sql would compare different work:\n  " + "\n  ".join(problems))


# --- the measurement ------------------------------------------------------------------------------------------

@contextmanager
def statements_issued() -> Iterator[list[int]]:
    """Counts the statements every SQLAlchemy engine (so GX) sends inside the block, in `[count]`."""
    import sqlalchemy

    issued = [0]

    def count(*_) -> None:
        issued[0] += 1

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", count)
    try:
        yield issued
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", count)


def run_gx_gate(settings: Settings, work: Path, url: str | None = None) -> tuple[float, int, dict[tuple, Verdict]]:
    """The raw checkpoint as the nightly runs it (as the transformer, unless `url`), with throwaway results and
    Data Docs under `work`: seconds, SQL statements issued, verdicts."""
    with statements_issued() as issued:
        started = time.perf_counter()
        run_checkpoint(STAGE, warehouse_url=url or warehouse_url(settings, "transformer"),
                       expectations_dir=settings.expectations_dir, results_dir=work / "validations",
                       data_docs_dir=work / "docs")
        seconds = time.perf_counter() - started
    return seconds, issued[0], gx_verdicts(work / "validations")


def run_sql_pass(url: str, suites: list[SuiteOnAsset]) -> tuple[float, dict[tuple, Verdict]]:
    """The hand-written pass, connection included (GX's time includes opening its own)."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True, application_name="cakupan-bench-gx") as conn:
        verdicts = hand_written_verdicts(conn, suites)
    return time.perf_counter() - started, verdicts


def measure_raw_gate(settings: Settings, repeats: int = 5, progress: Callable[[str], None] = print, *,
                     url: str | None = None) -> dict:
    """gx_vs_sql: the raw checkpoint's time / the hand-written pass's, side by side, interleaved, the median of
    the per-repeat ratios; gx_statements: SQL statements the checkpoint issued.

    Both sides read the warehouse as it stands (the deliveries awaiting the raw gate) through the same URL: the
    transformer's of `settings`, or `url` (e.g. a bench database); nothing in it is changed. One untimed run of
    each side comes first: it imports GX (seconds, paid once per process, not the checkpoint's work) and warms
    the same pages into shared buffers for both."""
    url = url or warehouse_url(settings, "transformer")
    suites = checkpoint_suites(settings.expectations_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        awaiting = conn.execute("SELECT count(*) FROM raw.deliveries_awaiting_raw_gate").fetchone()[0]
    if not awaiting:
        raise ValueError("No delivery awaits the raw gate, so its checkpoint would check no rows: load a night "
                         "(without running its gate) before measuring gx_vs_sql.")
    checks = sum(len(suite.expectations) for suite in suites)
    progress(f"Raw gate: {checks} checks in {len(suites)} suites over {awaiting} deliveries awaiting it.")
    with tempfile.TemporaryDirectory(prefix="cakupan-bench-gx-") as scratch:
        _, _, gx = run_gx_gate(settings, Path(scratch) / "warm-up", url)
        check_agreement(gx, run_sql_pass(url, suites)[1])
        ratios, gx_times, sql_times, statements = [], [], [], []
        for repeat in range(1, repeats + 1):
            work = Path(scratch) / f"repeat-{repeat}"
            # Alternate who goes first, so neither always runs right after the other.
            if repeat % 2:
                gx_seconds, issued, gx = run_gx_gate(settings, work, url)
                sql_seconds, hand_written = run_sql_pass(url, suites)
            else:
                sql_seconds, hand_written = run_sql_pass(url, suites)
                gx_seconds, issued, gx = run_gx_gate(settings, work, url)
            check_agreement(gx, hand_written)
            ratios.append(gx_seconds / sql_seconds)
            gx_times.append(gx_seconds)
            sql_times.append(sql_seconds)
            statements.append(issued)
            progress(f"  repeat {repeat}/{repeats}: GX checkpoint {gx_seconds:.2f}s ({issued} statements), "
                     f"SQL pass {sql_seconds:.2f}s ({len(suites)} statements), ratio {ratios[-1]:.2f}")
    return {
        "gx_vs_sql": round(statistics.median(ratios), 3),
        "gx_seconds": round(statistics.median(gx_times), 3),
        "sql_seconds": round(statistics.median(sql_times), 3),
        "gx_statements": max(statements),
        "checks": checks,
    }
