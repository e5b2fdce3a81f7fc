"""The Cakupan Airflow plugin: the reviewers' docs site, dbt docs and GX Data Docs inside the Airflow UI.

The pipeline's code is the installed `cakupan` package (src/cakupan), not this folder: Airflow imports every
.py under its plugins folder as a top-level module, so this folder holds only this file.

The docs site is static files under CAKUPAN_DOCS_DIR (built by every night and `cakupan docs build`). The
api-server serves them at /cakupan-docs/ (a FastAPI app of the plugin), and three pages under Browse open
them inside the UI: the reviewers' site, dbt docs and the Data Docs. Like `cakupan docs serve`, the pages
hold counts only (no personal data); the FastAPI app is not behind Airflow's login.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

DOCS_PREFIX = "/cakupan-docs"


def docs_app():
    """A FastAPI app serving CAKUPAN_DOCS_DIR; the folder may not exist yet (before the first night)."""
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from cakupan.settings import load_settings

    app = FastAPI(title="Cakupan docs site")
    app.mount("/", StaticFiles(directory=load_settings().docs_dir, html=True, check_dir=False), name="docs")
    return app


def _view(name: str, page: str, route: str) -> dict:
    # href without a leading slash: relative to the UI's base URL, so it works behind a proxy.
    return {"name": name, "href": f"{DOCS_PREFIX.lstrip('/')}/{page}", "url_route": route,
            "destination": "nav", "category": "browse"}


class CakupanPlugin(AirflowPlugin):
    name = "cakupan"
    fastapi_apps = [{"app": docs_app(), "url_prefix": DOCS_PREFIX, "name": "Cakupan docs site"}]
    external_views = [
        _view("Cakupan: coverage site", "index.html", "cakupan-site"),
        _view("Cakupan: dbt docs", "dbt/index.html", "cakupan-dbt-docs"),
        _view("Cakupan: Data Docs (GX)", "gx/index.html", "cakupan-data-docs"),
    ]
