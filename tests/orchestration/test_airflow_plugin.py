"""The Cakupan Airflow plugin: loaded once, listed by `airflow plugins`, and no project module imported twice.

Airflow imports every .py under its plugins folder as a top-level module; when the package lived there,
settings, db, load, judge, nightly, ... came in a second time under bare names, as other classes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "cakupan"

LOAD_PLUGINS = """
import json, sys
from cakupan.platform.airflow_env import configure_airflow
from cakupan.settings import load_settings
configure_airflow(load_settings())
from airflow import plugins_manager
plugins_manager.ensure_plugins_loaded()
plugins, errors = plugins_manager._get_plugins()
views, apps = plugins_manager._get_ui_plugins()
fastapi_apps, _ = plugins_manager.get_fastapi_plugins()
modules = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
print(json.dumps({"plugins": [p.name for p in plugins], "errors": errors, "modules": modules,
                  "views": [v["href"] for v in views], "apps": [a["url_prefix"] for a in fastapi_apps]}))
"""


def _run(code_or_args: list[str], settings) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIRFLOW_HOME": str(settings.airflow_home)}
    return subprocess.run(code_or_args, capture_output=True, text=True, env=env, timeout=300)


def test_plugins_load_the_cakupan_plugin_and_no_module_twice(settings):
    result = _run([sys.executable, "-c", LOAD_PLUGINS], settings)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "cakupan" in loaded["plugins"]
    assert not loaded["errors"]
    twice = [name for name, file in loaded["modules"].items()
             if file and Path(file).resolve().is_relative_to(SRC) and not name.startswith("cakupan")]
    assert not twice, f"project modules imported under a second name: {twice}"
    for bare in ("settings", "db", "load", "judge", "nightly", "warehouse"):
        file = loaded["modules"].get(bare)
        assert not file or "site-packages" in file or "python3.11/" in file, (bare, file)
    assert "/cakupan-docs" in loaded["apps"]
    assert {"cakupan-docs/index.html", "cakupan-docs/dbt/index.html", "cakupan-docs/gx/index.html"} <= set(
        loaded["views"])


def test_airflow_plugins_lists_cakupan(settings):
    result = _run([str(Path(sys.executable).parent / "airflow"), "plugins", "--output", "json"], settings)
    assert result.returncode == 0, result.stderr[-3000:]
    listed = json.loads(result.stdout[result.stdout.index("["):])
    assert [p for p in listed if p["name"] == "cakupan"], listed


def test_the_plugin_serves_the_docs_folder(settings, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("CAKUPAN_DOCS_DIR", str(tmp_path))
    (tmp_path / "index.html").write_text("<h1>Cakupan</h1>")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))
    try:
        import cakupan_plugin
    finally:
        sys.path.pop(0)
    client = TestClient(cakupan_plugin.docs_app())
    assert "Cakupan" in client.get("/").text
    assert client.get("/missing.html").status_code == 404
