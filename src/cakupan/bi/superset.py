"""The shipped Superset dashboard, and Superset's own virtual environment.

The dashboard's source is `bi/superset/dashboard/`, in the layout of a Superset export (metadata.yaml,
databases/, datasets/, charts/, dashboards/). `bundle` assembles it into the ZIP that `superset
import-dashboards -p FILE -u USER` takes, with the warehouse URL the user gives: an export masks the
database's password, and the committed source has none.

Superset's dependencies conflict with Airflow's, so it gets a virtual environment of its own, made from
`bi/superset/requirements.lock` under `$CAKUPAN_HOME/superset/venv` and made again only when that lock changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from cakupan.errors import UserError
from cakupan.platform.state_folder import make_private, make_private_file
from cakupan.platform.warehouse import masked, with_driver
from cakupan.settings import Settings

# Superset strips a bundle's top folder; its exports name it after what they hold.
BUNDLE_FOLDER = "cakupan_dashboard"
# The driver the Superset environment has (psycopg2-binary, in its lock).
DRIVER = "psycopg2"
# In the environment: the digest of the lock (and Python) it was made from.
VENV_STAMP = ".cakupan-lock"


class SupersetError(UserError, RuntimeError):
    pass


def source_dir(settings: Settings) -> Path:
    return settings.project_root / "bi" / "superset"


def venv_dir(settings: Settings) -> Path:
    return settings.home / "superset" / "venv"


def dashboard_path(settings: Settings) -> str:
    """Where the dashboard opens in Superset, below its address."""
    (dashboard,) = (source_dir(settings) / "dashboard" / "dashboards").glob("*.yaml")
    return f"/superset/dashboard/{yaml.safe_load(dashboard.read_text())['slug']}/"


def superset_url(url: str) -> str:
    """A warehouse URL as Superset's database connection: the same server and role, through psycopg2."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql") and not scheme.startswith("postgresql+"):
        raise SupersetError(f"{masked(url)} is not a PostgreSQL URL: give the warehouse's URL for the role "
                            "cakupan_bi, e.g. `cakupan warehouse url --role bi --show-password`.")
    return with_driver(url, DRIVER)


def bundle_files(settings: Settings, url: str) -> dict[str, str]:
    """The bundle's files (path in the ZIP: YAML): the source's, the database connecting with `url`."""
    root = source_dir(settings) / "dashboard"
    files = {}
    for path in sorted(root.rglob("*.yaml")):
        relative = path.relative_to(root).as_posix()
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        if relative.startswith("databases/"):
            config["sqlalchemy_uri"] = superset_url(url)
        elif relative.startswith("charts/"):
            config["params"]["viz_type"] = config["viz_type"]
            context = query_context(config["params"])
            config["query_context"] = json.dumps(context) if context else None
        files[f"{BUNDLE_FOLDER}/{relative}"] = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return files


def query_context(params: dict) -> dict | None:
    """The query Superset saves beside a chart's parameters when it is saved in Explore (its chart data API,
    alerts and reports run that one; a dashboard asks from the parameters). A bundle written by hand has to
    bring it: this builds it as Superset 6.1's frontend does for the chart types the dashboard uses. None for a
    legacy chart type (the country map), which Superset queries from its parameters alone."""
    viz_type = params["viz_type"]
    if viz_type == "country_map":
        return None
    if params.get("adhoc_filters"):
        raise SupersetError(f"a {viz_type} chart with filters: query_context() does not carry filters yet")
    query = {"filters": [], "extras": {"having": "", "where": ""}, "applied_time_extras": {},
             "annotation_layers": [], "url_params": {}, "custom_params": {}, "custom_form_data": {},
             "row_limit": params.get("row_limit")}
    if viz_type == "big_number_total":
        query |= {"columns": [], "metrics": [params["metric"]]}
    elif viz_type == "table" and params.get("query_mode") == "raw":
        query |= {"columns": params["all_columns"], "metrics": None,  # None, not []: no GROUP BY
                  "orderby": [json.loads(order) for order in params.get("order_by_cols", [])]}
    elif viz_type == "table":
        query |= {"columns": params.get("groupby", []), "metrics": params["metrics"],
                  "orderby": [[params["metrics"][0], not params.get("order_desc", True)]]}
    elif viz_type == "echarts_timeseries_bar":
        x_axis, metrics, series = params["x_axis"], params["metrics"], params.get("groupby", [])
        query |= {"columns": [{"columnType": "BASE_AXIS", "sqlExpression": x_axis, "label": x_axis,
                               "expressionType": "SQL", "isColumnReference": True}, *series],
                  "series_columns": series, "metrics": metrics,
                  "orderby": [[metrics[0], not params.get("order_desc", True)]],
                  "post_processing": [
                      {"operation": "pivot", "options": {"index": [x_axis], "columns": series, "aggregates": {
                          metric: {"operator": "mean"} for metric in metrics}, "drop_missing_columns": False}},
                      {"operation": "sort", "options": {"by": params["x_axis_sort"],
                                                        "ascending": params.get("x_axis_sort_asc", True)}},
                      {"operation": "flatten"}]}
    else:
        raise SupersetError(f"no query context for the chart type {viz_type}: add it to query_context()")
    return {"datasource": {"id": 0, "type": "table"},  # the import points it at the imported dataset
            "force": False, "queries": [query], "form_data": params,
            "result_format": "json", "result_type": "full"}


def write_bundle(settings: Settings, url: str, out: Path) -> Path:
    """The dashboard's ZIP at `out`, readable by its owner only: it holds the warehouse's password."""
    out.parent.mkdir(parents=True, exist_ok=True)
    make_private_file(out)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in bundle_files(settings, url).items():
            bundle.writestr(name, text)
    return out


def import_dashboard(settings: Settings, url: str, username: str, superset: str) -> str:
    """Run `superset import-dashboards` of the Superset whose command is `superset` on a fresh bundle; returns
    what it printed."""
    command = shutil.which(superset)
    if command is None:
        raise SupersetError(
            f"no `{superset}` command: pass --superset with the path of your Superset's `superset` command, or "
            "make the ZIP with `cakupan superset bundle --out FILE` and import it where Superset runs "
            "(`superset import-dashboards -p FILE -u USER`, or Dashboards > Import in its UI).")
    with tempfile.TemporaryDirectory(prefix="cakupan-superset-") as scratch:
        bundle = write_bundle(settings, url, Path(scratch) / f"{BUNDLE_FOLDER}.zip")
        result = subprocess.run([command, "import-dashboards", "-p", str(bundle), "-u", username],
                                capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise SupersetError(
            f"Superset did not import the dashboard (`{command} import-dashboards` exited {result.returncode}); "
            f"its last words below say why. The usual causes: no user {username!r}, or one that is not an Admin "
            "(`superset fab list-users`), or a Superset not initialised (`superset db upgrade`, then "
            f"`superset init`).\n{output[-3000:]}")
    return output


def uv_command() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SupersetError("uv is not installed: `make install` installs it into .venv.")
    return uv


def ensure_venv(settings: Settings, progress=print) -> Path:
    """Superset's virtual environment, made from its lock the first time and whenever the lock changes; one
    process makes it while any other waits. Returns its folder (`bin/superset`, `bin/python`)."""
    venv, lock = venv_dir(settings), source_dir(settings) / "requirements.lock"
    stamp = hashlib.sha256(lock.read_bytes() + sys.version.encode()).hexdigest()
    make_private(venv.parent)
    with open(venv.parent / "venv.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError):
            if (venv / VENV_STAMP).read_text() == stamp:
                return venv
        progress(f"Installing Superset into {venv} from {lock.relative_to(settings.project_root)} ...")
        shutil.rmtree(venv, ignore_errors=True)
        uv = uv_command()
        for step in ([uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
                     [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-r", str(lock)]):
            result = subprocess.run(step, capture_output=True, text=True)
            if result.returncode != 0:
                raise SupersetError(f"`{' '.join(step[:3])}` failed making Superset's environment in {venv} "
                                    f"(PyPI must be reachable, or uv's cache hold every package of {lock.name}):\n"
                                    f"{result.stderr[-3000:]}")
        (venv / VENV_STAMP).write_text(stamp)
    return venv
