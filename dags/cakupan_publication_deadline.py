"""cakupan_publication_deadline: every day at CAKUPAN_PUBLISH_BY (WIB), are the night's marts published?

The run at that time on day D+1 checks business date D (the date `cakupan_nightly`'s 01:00 run of D+1
covers); pass `snapshot_date` in the run's conf to check another date. Published: the task succeeds
quietly. Not published: an alert (CAKUPAN_ALERT_WEBHOOK_URL / CAKUPAN_ALERT_EMAIL) says which date, the last
published one, the failed gates and the late branches, and the task fails.
Logic: src/cakupan/orchestration/publication_deadline.py.

Airflow's Deadline Alerts are not used: they watch whether a DAG run finished in time, not whether it
published, and they are evaluated by the scheduler and triggerer, which `dag.test()` and `cakupan run` skip.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from cakupan.orchestration.airflow_support import common_dag_arguments, snapshot_date_of
from cakupan.orchestration.alerts import on_task_failure
from cakupan.orchestration.publication_deadline import publish_by_cron
from cakupan.settings import load_settings

SETTINGS = load_settings()


@dag(
    dag_id="cakupan_publication_deadline",
    schedule=publish_by_cron(SETTINGS.publish_by),
    doc_md=__doc__,
    **common_dag_arguments(),
    # A missed deadline alerts from the task itself; on_task_failure alerts when the check cannot run at all.
    # No retry: a second try would repeat the alert.
    default_args={"retries": 0, "on_failure_callback": on_task_failure},
)
def cakupan_publication_deadline():
    @task
    def check_publication(**context) -> dict:
        from cakupan.orchestration import publication_deadline

        status = publication_deadline.check_publication(
            load_settings(), snapshot_date_of(context), dag_id=context["dag"].dag_id, run_id=context["run_id"])
        return {"snapshot_date": status.snapshot_date.isoformat(), "published": status.published}

    check_publication()


cakupan_publication_deadline()
