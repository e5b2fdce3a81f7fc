"""GXCheckpointOperator: a thin Airflow operator around `cakupan.gates.gate_log.run_gx_gate`.

The Great Expectations Airflow provider cannot be installed beside Airflow >= 3.3.1, and all it would
add is this: run a checkpoint, keep the result for the docs, fail the task when a check of severity `error` fails.
It also records the verdict in `audit.gate_results`. The checkpoints are those of the GX project in
`expectations/`: the raw stage checks the deliveries of the night's date or earlier awaiting the raw gate,
the marts stage the candidate marts of the night, before they are published. Either runs only while its night
holds the night lease (night_lease.py).
"""

from __future__ import annotations

from airflow.sdk import BaseOperator


class GXCheckpointOperator(BaseOperator):
    ui_color = "#ff6310"

    def __init__(self, *, stage: str, **kwargs):
        super().__init__(**kwargs)
        self.stage = stage

    def execute(self, context) -> dict:
        from cakupan.gates.gate_log import run_gx_gate
        from cakupan.orchestration.airflow_support import snapshot_date_of
        from cakupan.publish import night_lease
        from cakupan.settings import load_settings

        settings = load_settings()
        with night_lease.held_for_night(settings, context):
            outcome = run_gx_gate(settings, self.stage, snapshot_date_of(context), context["run_id"])
        self.log.info("%s gate: %d checks, %d errors, %d warnings. %s", self.stage, outcome.evaluated,
                      len(outcome.failed_errors), len(outcome.failed_warnings), outcome.note)
        for warning in outcome.failed_warnings:
            self.log.warning("warning: %s", warning)
        outcome.raise_if_failed()
        return outcome.as_dict()
