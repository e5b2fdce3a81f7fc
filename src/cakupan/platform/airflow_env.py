"""Point Airflow at this project before it is imported: home, DAG and plugin folders, metadata database.

Airflow reads its configuration when first imported, so the CLI and the tests call `configure_airflow`
first. Variables already set in the environment win, so a deployment can override any of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cakupan.platform.warehouse import airflow_metadata_url
from cakupan.settings import Settings


def airflow_environment(settings: Settings) -> dict[str, str]:
    metadata_url = airflow_metadata_url(settings)
    # Airflow 3 also opens an async engine; psycopg 3 serves both, so asyncpg is not needed.
    async_url = metadata_url.replace("+psycopg://", "+psycopg_async://").replace("sqlite:///", "sqlite+aiosqlite:///")
    return {
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.plugins_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Jakarta",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": async_url,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.airflow_home / "logs"),
        "GX_ANALYTICS_ENABLED": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def configure_airflow(settings: Settings) -> None:
    for key, value in airflow_environment(settings).items():
        os.environ.setdefault(key, value)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)


def migrate_metadata_database(settings: Settings) -> None:
    """`airflow db migrate`, once per Airflow version and metadata database (it takes tens of seconds)."""
    import airflow

    marker = settings.airflow_home / ".migrated"
    stamp = f"{airflow.__version__} {os.environ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split('@')[-1]}"
    if marker.exists() and marker.read_text() == stamp:
        return
    print("Preparing Airflow's metadata database (first run only) ...", flush=True)
    airflow_cli = Path(sys.executable).parent / "airflow"
    result = subprocess.run([str(airflow_cli), "db", "migrate"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stderr[-3000:]}")
    marker.write_text(stamp)
