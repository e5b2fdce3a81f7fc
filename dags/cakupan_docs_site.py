"""cakupan_docs_site: the reviewers' docs site (dbt docs, GX Data Docs, coverage and award pages), rebuilt
from the published marts whenever a night has been checked (asset `cakupan_night_checked`, updated by
`cakupan_nightly` whether its gates passed or not, so the site also says when a night was stopped).

Trigger it with `{"snapshot_date": "YYYY-MM-DD"}` to rebuild the site for another night.
Logic: src/cakupan/site/docs_site.py.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task

from cakupan.orchestration.airflow_support import common_dag_arguments, record_task_usage
from cakupan.orchestration.alerts import on_task_failure
from cakupan.orchestration.assets import NIGHT_CHECKED
from cakupan.settings import load_settings

SETTINGS = load_settings()


@dag(
    dag_id="cakupan_docs_site",
    schedule=[NIGHT_CHECKED],
    doc_md=__doc__,
    **common_dag_arguments(),
    default_args={"retries": SETTINGS.task_retries, "retry_delay": dt.timedelta(minutes=1),
                  "on_failure_callback": on_task_failure, "on_success_callback": record_task_usage},
)
def cakupan_docs_site():
    @task
    def build_docs(**context) -> str:
        from cakupan.orchestration.assets import night_of
        from cakupan.site import docs_site

        return str(docs_site.build_docs_site(load_settings(), night_of(context)))

    build_docs()


cakupan_docs_site()
