"""GXCheckpointOperator: a thin Airflow operator around `cakupan.quality.run_checkpoint`.

The Great Expectations Airflow provider cannot be installed beside Airflow >= 3.3.1, and all it would
add is this: run a checkpoint, keep the result for the docs, fail the task when a check of severity `error` fails.
It also records the verdict in `audit.gate_results`. The checkpoints are those of the GX project in
`expectations/`: the raw stage checks the deliveries awaiting the raw gate, the marts stage the candidate
marts of the night, before they are published.
"""

from __future__ import annotations


from airflow.sdk import BaseOperator


class GXCheckpointOperator(BaseOperator):
    ui_color = "#ff6310"

    def __init__(self, *, stage: str, **kwargs):
        super().__init__(**kwargs)
        self.stage = stage

    def execute(self, context) -> dict:
        from cakupan import db
        from cakupan.airflow_support import snapshot_date_of
        from cakupan.gate_log import deliveries_awaiting_raw_gate, mark_raw_gate_passed, record_gate
        from cakupan.quality import CheckpointOutcome, run_checkpoint
        from cakupan.settings import load_settings
        from cakupan.warehouse import warehouse_url

        settings = load_settings()
        snapshot_date = snapshot_date_of(context)
        # The raw gate checks every delivery not through it yet: tonight's, and any that failed before.
        # The verdicts are bookkeeping in raw and audit (the loader's); the checks read as the transformer.
        with db.connect(settings, "loader") as conn:
            delivery_ids = deliveries_awaiting_raw_gate(conn) if self.stage == "raw" else []
        if self.stage == "raw" and not delivery_ids:
            outcome = CheckpointOutcome(self.stage, True, 0, note="no new deliveries tonight: nothing to check")
        else:
            outcome = run_checkpoint(
                self.stage,
                warehouse_url=warehouse_url(settings, "transformer"),
                expectations_dir=settings.expectations_dir,
                results_dir=settings.home / "gx" / "validations",
                data_docs_dir=settings.docs_dir / "gx",
            )
        with db.connect(settings, "loader") as conn:
            record_gate(conn, gate=f"gx_{self.stage}", snapshot_date=snapshot_date, passed=outcome.success,
                        checks=outcome.evaluated, failures=outcome.failed_errors, warnings=outcome.failed_warnings,
                        run_id=context["run_id"])
            if outcome.success and delivery_ids:
                mark_raw_gate_passed(conn, delivery_ids)
        self.log.info("%s gate: %d checks, %d errors, %d warnings. %s", self.stage, outcome.evaluated,
                      len(outcome.failed_errors), len(outcome.failed_warnings), outcome.note)
        for warning in outcome.failed_warnings:
            self.log.warning("warning: %s", warning)
        outcome.raise_if_failed()
        return outcome.as_dict()
