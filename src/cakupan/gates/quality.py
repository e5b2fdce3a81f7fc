"""Great Expectations checkpoints: the quality gates between raw and dbt, and between dbt and publication.

The suites, assets and checkpoints are the GX File Data Context committed in `expectations/` (see its
README). Each expectation has a severity: `critical` (an error) stops the night, nothing is published;
`warning` is published, flagged on the docs site and kept in Data Docs. GX is imported lazily in
`run_checkpoint`, so importing this module (the DAG does) stays cheap.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINTS = {"raw": "raw_checkpoint", "marts": "marts_checkpoint"}
# The raw suite whose checks each read one participant row; a delivery whose previous delivery passed these
# same checks is checked by the rows it changed (raw.peserta_awaiting_raw_gate, docs/decisions.md change 26).
ROW_CHECKS_SUITE = "raw_peserta"
DATA_DOCS_SITE = "cakupan"
# great_expectations.yml names these instead of values, so the committed project holds no URL, password or
# machine path.
URL_VARIABLE = "CAKUPAN_GX_WAREHOUSE_URL"
RESULTS_VARIABLE = "CAKUPAN_GX_RESULTS_DIR"
DATA_DOCS_VARIABLE = "CAKUPAN_GX_DATA_DOCS_DIR"


class QualityGateFailed(RuntimeError):
    pass


def row_checks_digest(expectations_dir: Path) -> str:
    """The SHA-256 of the row checks' suite as committed: any edit to it has every delivery checked whole once."""
    return hashlib.sha256((expectations_dir / "expectations" / f"{ROW_CHECKS_SUITE}.json").read_bytes()).hexdigest()


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


def _exception(result) -> str | None:
    """Why a check could not run, if it could not. GX keeps this flat or per metric."""
    info = result.exception_info or {}
    candidates = [info] + [value for value in info.values() if isinstance(value, dict)]
    return next((candidate["exception_message"] for candidate in candidates
                 if candidate.get("raised_exception") and candidate.get("exception_message")), None)


def _describe(suite: str, result) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column") or config.kwargs.get("column_A") or ""
    observed = result.result or {}
    raised = _exception(result)
    if raised:
        # A check that could not run (a column renamed, a query broken) fails; say why.
        detail = "could not be evaluated: " + raised.splitlines()[0]
    elif "unexpected_count" in observed:
        detail = f"{observed['unexpected_count']} rows break it"
        examples = observed.get("partial_unexpected_list") or []
        if examples:
            detail += f", e.g. {examples[:3]}"
    elif "observed_value" in observed:
        detail = f"observed {observed['observed_value']!r}"
    else:
        detail = "see Data Docs"
    what = config.description or config.type
    return f"{suite}{'.' + column if column else ''}: {what} [{config.type}] ({detail})"


def run_checkpoint(
    stage: str, *, warehouse_url: str, expectations_dir: Path, results_dir: Path, data_docs_dir: Path,
) -> CheckpointOutcome:
    """Run the stage's checkpoint of the GX project in `expectations_dir`: `raw` checks the deliveries
    awaiting the raw gate, `marts` the candidate marts of the night (`publication.prepare_candidate`).

    What it writes beside the verdict (validation results, Data Docs) may fail on a full or broken disk
    without failing the gate: the docs follow the publication, never the other way round. Only an OSError
    about those folders is forgiven; a check that fails or cannot run fails the gate as before."""
    with tempfile.TemporaryDirectory(prefix="cakupan-gx-results-") as scratch:
        return _run_checkpoint(stage, warehouse_url=warehouse_url, expectations_dir=expectations_dir,
                               results_dir=results_dir, data_docs_dir=data_docs_dir, scratch=Path(scratch))


def _run_checkpoint(stage: str, *, warehouse_url: str, expectations_dir: Path, results_dir: Path,
                    data_docs_dir: Path, scratch: Path) -> CheckpointOutcome:
    """run_checkpoint, with `scratch` for the validation results when they cannot be kept where they belong."""
    import great_expectations as gx

    from cakupan.platform.warehouse import with_driver

    problems: list[str] = []
    results_dir = _writable_or_scratch(results_dir, "validation results", problems, scratch)
    os.environ[URL_VARIABLE] = with_driver(warehouse_url, "psycopg")
    os.environ[RESULTS_VARIABLE] = str(results_dir)
    os.environ[DATA_DOCS_VARIABLE] = str(data_docs_dir)
    context = gx.get_context(mode="file", context_root_dir=expectations_dir)
    try:
        result = context.checkpoints.get(CHECKPOINTS[stage]).run()
    except OSError as error:
        if not _about(error, results_dir):
            raise
        # The disk filled up while the results were stored: check again, keeping them in a scratch folder.
        problems.append(f"validation results not kept in {results_dir}: {error}")
        os.environ[RESULTS_VARIABLE] = str(scratch)
        context = gx.get_context(mode="file", context_root_dir=expectations_dir)
        result = context.checkpoints.get(CHECKPOINTS[stage]).run()
    # One Data Docs build for the whole checkpoint: GX's UpdateDataDocsAction rebuilds the site's index once
    # per suite, which was most of the marts gate's time (docs/decisions.md, smaller measures).
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    built = list(result.run_results) + [ExpectationSuiteIdentifier(run.suite_name)
                                        for run in result.run_results.values()]
    try:
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=built)
    except OSError as error:
        if not _about(error, data_docs_dir):
            raise
        problems.append(f"Data Docs not written to {data_docs_dir}: {error}")
    for problem in problems:
        log.warning("The %s gate's verdict stands, but %s", stage, problem)

    errors: list[str] = []
    warnings: list[str] = []
    evaluated = 0
    for run_result in sorted(result.run_results.values(), key=lambda run: run.suite_name):
        for expectation_result in run_result.results:
            evaluated += 1
            if expectation_result.success:
                continue
            severity = getattr(expectation_result.expectation_config.severity, "value", "critical")
            failures = warnings if severity != "critical" else errors
            failures.append(_describe(run_result.suite_name, expectation_result))
    return CheckpointOutcome(stage, not errors, evaluated, errors, warnings, data_docs_dir / "index.html",
                             note="; ".join(problems))


def _about(error: OSError, folder: Path) -> bool:
    """Whether the error arose writing under `folder`: it names `folder`, a path in it, or a folder above it
    (making the folder failed); or, with no name (a full disk), it came from a GX store writing there."""
    names = [Path(os.fsdecode(name)) for name in (error.filename, error.filename2) if name]
    traceback = error.__traceback__
    while traceback is not None:
        store = traceback.tb_frame.f_locals.get("self")
        base = getattr(store, "full_base_directory", None) if store is not None else None
        if isinstance(base, (str, os.PathLike)):
            names.append(Path(base))
        traceback = traceback.tb_next
    return any(path == folder or folder in path.parents or path in folder.parents for path in names)


def _writable_or_scratch(folder: Path, what: str, problems: list[str], scratch: Path) -> Path:
    """`folder`, made if missing and written to once; else a scratch folder for this run, and a note why."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cakupan-probe-"):
            pass
        return folder
    except OSError as error:
        problems.append(f"{what} not kept in {folder}: {error}")
        return scratch
