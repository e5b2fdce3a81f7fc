"""The DAG file imports cleanly, parses fast, and has the shape the nightly run promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cakupan.settings import load_settings

PARSE_PROBE = r"""
import json, sys, time
import airflow.sdk  # Airflow already imported: what we measure is the DAG file itself
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
# CPU time, not wall time: other work on a shared machine must not make the parse look slow.
started = time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.process_time() - started
heavy = sorted({m.split('.')[0] for m in set(sys.modules) - before}
               & {'great_expectations', 'dbt', 'pandas', 'psycopg', 'openpyxl', 'sqlalchemy_utils'})
dag = bag.dags['cakupan_nightly']
docs_dag = bag.dags['cakupan_docs_site']  # from the parsed file, not the metadata database
print(json.dumps({
    'errors': {k: str(v) for k, v in bag.import_errors.items()},
    'seconds': elapsed,
    'heavy_imports': heavy,
    'dag_ids': sorted(bag.dag_ids),
    'tasks': sorted(t.task_id for t in dag.tasks),
    'schedule': dag.timetable.expression,
    'timezone': str(dag.timetable.timezone),
    'catchup': dag.catchup,
    'retries': {t.task_id: t.retries for t in dag.tasks},
    'downstream': {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
    'outlets': {t.task_id: [a.name for a in t.outlets] for t in dag.tasks if t.outlets},
    'docs_schedule': [a.name for a in docs_dag.timetable.asset_condition.iter_assets_by_name()] if hasattr(
        docs_dag.timetable.asset_condition, 'iter_assets_by_name') else str(docs_dag.timetable.asset_condition),
}))
"""


def parse_dag_file() -> dict:
    settings = load_settings()
    result = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(settings.dags_dir)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dag_parses_without_errors_quickly_and_without_heavy_imports():
    parsed = parse_dag_file()
    assert parsed["errors"] == {}
    assert parsed["dag_ids"] == ["cakupan_docs_site", "cakupan_nightly", "cakupan_publication_deadline"]
    assert parsed["heavy_imports"] == []
    # The bound: parsing happens on every scheduler loop, so no heavy imports or DB calls at top level.
    assert parsed["seconds"] < 1.0


def test_dag_shape_schedule_and_retries():
    parsed = parse_dag_file()
    assert parsed["tasks"] == [
        "dbt_build", "find_exports", "load_exports", "loaded_deliveries", "night_checked", "night_failed",
        "publish_marts", "validate_marts", "validate_raw",
    ]
    assert parsed["schedule"] == "0 1 * * *"
    assert parsed["timezone"] == "Asia/Jakarta"
    assert parsed["catchup"] is False
    # Every task also feeds night_failed, which fails the run when any of them failed.
    # night_checked waits for every task of the night too, then gives the night lease back.
    assert all("night_failed" in parsed["downstream"][t] for t in parsed["tasks"] if t != "night_failed")
    assert all("night_checked" in parsed["downstream"][t] for t in parsed["tasks"]
               if t not in ("night_failed", "night_checked"))
    downstream = {task: [d for d in after if d != "night_failed" and (d != "night_checked" or task == "publish_marts")]
                  for task, after in parsed["downstream"].items()}
    assert downstream["find_exports"] == ["load_exports"]
    assert downstream["load_exports"] == ["loaded_deliveries"]
    assert downstream["loaded_deliveries"] == ["validate_raw"]
    assert downstream["validate_raw"] == ["dbt_build"]
    assert downstream["dbt_build"] == ["validate_marts"]
    assert downstream["validate_marts"] == ["publish_marts"]
    assert downstream["publish_marts"] == ["night_checked"]
    # Data-aware scheduling: the night updates its assets, and the docs site is rebuilt from them.
    assert parsed["outlets"] == {"publish_marts": ["cakupan_published_marts"],
                                 "night_checked": ["cakupan_night_checked"]}
    assert "cakupan_night_checked" in str(parsed["docs_schedule"])
    # The test session sets CAKUPAN_TASK_RETRIES=0; the default is 2 (read from the environment).
    assert set(parsed["retries"].values()) == {0}


def test_the_retry_policy_names_exception_classes_that_exist():
    """The nightly's retry rules name exceptions by dotted path: a moved module must not leave one dangling."""
    import importlib
    import re

    from cakupan.orchestration.airflow_support import TRANSIENT_ERROR_NAMES

    dag_file = (Path(__file__).resolve().parents[2] / "dags" / "cakupan_nightly.py").read_text()
    names = [*TRANSIENT_ERROR_NAMES, *re.findall(r'"(cakupan\.[\w.]+)"', dag_file)]
    assert any(name.startswith("cakupan.") for name in names)
    for name in names:
        module, _, attribute = name.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), attribute), BaseException), name
