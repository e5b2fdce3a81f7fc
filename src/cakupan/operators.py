"""GXCheckpointOperator: a thin Airflow operator around `cakupan.quality.run_checkpoint`.

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
        from cakupan.platform import db
        from cakupan import night_lease
        from cakupan.airflow_support import snapshot_date_of
        from cakupan.gate_log import mark_raw_gate_passed, raw_gate_of_night, record_gate
        from cakupan.settings import load_settings

        settings = load_settings()
        snapshot_date = snapshot_date_of(context)
        # The verdicts are bookkeeping in raw and audit (the loader's); the checks read as the transformer.
        with night_lease.held_for_night(settings, context), db.connect(settings, "loader") as conn:
            if self.stage == "raw":
                # Every delivery of D or earlier not through the gate yet: tonight's, and any that failed before.
                with raw_gate_of_night(conn, snapshot_date, context["run_id"]) as delivery_ids:
                    outcome = self._check(settings, delivery_ids)
            else:
                delivery_ids = []
                outcome = self._check(settings, None)
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

    def _check(self, settings, delivery_ids: list[int] | None):
        """The stage's checkpoint; the raw stage with no delivery awaiting it has nothing to check."""
        from cakupan.quality import CheckpointOutcome, run_checkpoint
        from cakupan.platform.warehouse import warehouse_url

        if delivery_ids == []:
            return CheckpointOutcome(self.stage, True, 0, note="no new deliveries for this night: nothing to check")
        return run_checkpoint(
            self.stage,
            warehouse_url=warehouse_url(settings, "transformer"),
            expectations_dir=settings.expectations_dir,
            results_dir=settings.home / "gx" / "validations",
            data_docs_dir=settings.docs_dir / "gx",
        )
