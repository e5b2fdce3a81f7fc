"""cakupan_nightly: every night, load each branch office's export, check it, build the coverage marts.

find_exports -> load_exports (a batch of deliveries a core) -> validate_raw (GX) -> dbt_build
    -> validate_marts (GX) -> publish_marts -> night_checked

Only one night runs at a time: find_exports waits while another night (a scheduled run, `cakupan run`)
holds the night lease, and night_checked gives it back (src/cakupan/publish/night_lease.py).
dbt_build and validate_marts work on a candidate copy of the marts; publish_marts swaps it in only when
every gate before it passed, so BI tools never see numbers that failed a check. publish_marts updates the
asset `cakupan_published_marts`; night_checked, which runs whatever the gates said, updates
`cakupan_night_checked`, on which the docs site (dags/cakupan_docs_site.py) is rebuilt.

The run for 01:00 WIB covers the previous business day; `cakupan run --date D` passes D as
`snapshot_date` in the run's conf. Logic lives in `src/cakupan`; this file only wires it.
Settings come from CAKUPAN_* environment variables (see src/cakupan/settings.py).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule, dag, task

from cakupan.orchestration.airflow_support import (
    TRANSIENT_ERROR_NAMES,
    common_dag_arguments,
    record_task_failure,
    record_task_usage,
    snapshot_date_of,
)
from cakupan.orchestration.alerts import on_task_failure
from cakupan.orchestration.assets import NIGHT_CHECKED, PUBLISHED_MARTS, night_extra
from cakupan.orchestration.operators import GXCheckpointOperator
from cakupan.settings import load_settings

SETTINGS = load_settings()

# Only failures that may pass on their own are retried; bad data or a failed quality gate fails at once.
TRANSIENT_FAILURES = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=[*TRANSIENT_ERROR_NAMES, "cakupan.transform.nightly.ExportsUnreachable"],
            action=RetryAction.RETRY,
            reason="The warehouse could not be reached; retrying.",
        )
    ],
    default=RetryAction.FAIL,
)


@dag(
    dag_id="cakupan_nightly",
    schedule=SETTINGS.nightly_schedule,
    doc_md=__doc__,
    **common_dag_arguments(),
    default_args={
        "retries": SETTINGS.task_retries,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_policy": TRANSIENT_FAILURES,
        "on_failure_callback": on_task_failure,
        "on_success_callback": record_task_usage,
    },
)
def cakupan_nightly():
    @task
    def find_exports(**context) -> list[list[str]]:
        """The new deliveries, in one batch per core or worker slot (CAKUPAN_LOAD_BATCHES; nightly.batch_exports
        says why not one task each). Waits first while another night holds the night lease."""
        from cakupan.publish import night_lease
        from cakupan.transform import nightly

        settings = load_settings()
        with night_lease.taken_for_night(settings, context):
            folders = nightly.find_exports(settings, snapshot_date_of(context))
            return nightly.batch_exports(folders, batches=settings.load_batches)

    @task(map_index_template="{{ task.op_kwargs['folders'] | length }} deliveries")
    def load_exports(folders: list[str], **context) -> list[dict]:
        from cakupan.publish import night_lease
        from cakupan.transform import nightly

        settings = load_settings()
        with night_lease.held_for_night(settings, context):
            return nightly.load_exports(settings, folders)

    @task(trigger_rule="none_failed")
    def loaded_deliveries(batches: list[list[dict]] | None = None) -> list[int]:
        # Indexing up to len() reads each mapped result once; plain iteration probes one past the end.
        batches = batches or []
        return [o["delivery_id"] for i in range(len(batches)) for o in batches[i] if o["status"] == "loaded"]

    @task
    def dbt_build(**context) -> None:
        from cakupan.publish import night_lease
        from cakupan.transform import nightly

        settings = load_settings()
        with night_lease.held_for_night(settings, context):
            nightly.build_marts(settings, snapshot_date_of(context), context["run_id"])

    @task(outlets=[PUBLISHED_MARTS])
    def publish_marts(outlet_events=None, **context) -> None:
        from cakupan.publish import night_lease
        from cakupan.transform import nightly

        settings = load_settings()
        snapshot_date = snapshot_date_of(context)
        with night_lease.held_for_night(settings, context) as lease_id:
            nightly.publish_marts(settings, snapshot_date, context["run_id"], lease_id=lease_id)
        outlet_events[PUBLISHED_MARTS].extra = night_extra(snapshot_date)

    # Runs whatever happened before it, once every task of the night has ended: when a gate fails, the docs
    # site must say so (and keep the old figures), and the night lease goes back for the next night.
    @task(trigger_rule="all_done", outlets=[NIGHT_CHECKED])
    def night_checked(outlet_events=None, **context) -> None:
        from cakupan.publish import night_lease

        night_lease.release_for_night(load_settings(), context)
        outlet_events[NIGHT_CHECKED].extra = night_extra(snapshot_date_of(context), run_id=context["run_id"])

    # night_checked succeeding would otherwise mark a night with a failed gate as a success. Each failed task
    # has sent its own alert already.
    @task(trigger_rule="one_failed", retries=0, on_failure_callback=record_task_failure)
    def night_failed() -> None:
        raise RuntimeError("A task of this night failed, so its marts were not published; see the failed task.")

    exports = find_exports()
    loads = load_exports.expand(folders=exports)
    delivery_ids = loaded_deliveries(loads)
    validate_raw = GXCheckpointOperator(task_id="validate_raw", stage="raw")
    validate_marts = GXCheckpointOperator(task_id="validate_marts", stage="marts")
    built = dbt_build()
    published = publish_marts()
    checked = night_checked()
    delivery_ids >> validate_raw >> built >> validate_marts >> published >> checked
    # A failed task fails the tasks after it at once, while a load of another batch may still run: night_checked
    # waits for them all before it gives the lease back.
    [exports, loads, delivery_ids, validate_raw, built, validate_marts] >> checked
    [exports, loads, delivery_ids, validate_raw, built, validate_marts, published, checked] >> night_failed()


cakupan_nightly()
