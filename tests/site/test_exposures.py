"""dbt's exposures (dbt_project/models/exposures.yml) depend on what each consumer reads: the reviewers' site on
every model and reference table its queries name, the Superset dashboard on every mart its datasets read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXPOSURES = {exposure["name"]: exposure for exposure in
             yaml.safe_load((ROOT / "dbt_project" / "models" / "exposures.yml").read_text())["exposures"]}
SUPERSET_DATASETS = sorted((ROOT / "bi" / "superset").glob("**/datasets/**/*.yaml"))


def depends_on(exposure: str) -> tuple[set[str], set[str]]:
    """(models, sources as schema.table) of an exposure."""
    needs = EXPOSURES[exposure]["depends_on"]
    models = {m.group(1) for need in needs if (m := re.fullmatch(r"ref\('(\w+)'\)", need))}
    sources = {f"{m.group(1)}.{m.group(2)}" for need in needs
               if (m := re.fullmatch(r"source\('(\w+)', '(\w+)'\)", need))}
    return models, sources


def test_the_reviewers_site_exposure_names_what_the_site_reads():
    code = "".join(path.read_text() for path in (ROOT / "src" / "cakupan" / "site").glob("*.py"))
    read = set(re.findall(r"(?<![\w.])(marts|intermediate|staging|reference)\.(\w+)", code))
    models, sources = depends_on("reviewers_site")
    # The night's data package (site/data_package.py) holds every mart the project builds.
    every_mart = {path.stem for path in (ROOT / "dbt_project" / "models" / "marts").rglob("*.sql")}
    assert models == {table for schema, table in read if schema != "reference"} | every_mart
    assert sources == {f"{schema}.{table}" for schema, table in read if schema == "reference"}


@pytest.mark.skipif(not SUPERSET_DATASETS, reason="no Superset bundle under bi/superset/ yet")
def test_the_superset_exposure_names_the_marts_its_datasets_read():
    read = set()
    for path in SUPERSET_DATASETS:
        dataset = yaml.safe_load(path.read_text())
        if dataset.get("sql"):  # a virtual dataset: the marts its query names
            tables = re.findall(r"\bmarts\.(\w+)", dataset["sql"])
        else:
            tables = [dataset["table_name"]] if dataset.get("schema") == "marts" else []
        # A daily mart's `_latest` view (made by the publication step) reads that mart.
        read |= {table.removesuffix("_latest") for table in tables}
    assert read and read <= depends_on("superset_coverage_dashboard")[0], read
