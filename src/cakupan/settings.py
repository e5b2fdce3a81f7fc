"""Every setting of Cakupan, read from `CAKUPAN_*` environment variables with file-relative defaults.

The CLI, the DAG, dbt (through the environment it is given) and the tests all read settings here,
so one variable changes the behaviour everywhere. Defaults put all state under `<repo>/.cakupan/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The folder that holds dags/, dbt_project/, expectations/ and award/: the checkout (or the image's /opt/cakupan)
# this file lies in under src/cakupan/ when installed editable, as `make install` and the Dockerfile do; an
# installed copy elsewhere is pointed at them with CAKUPAN_PROJECT_ROOT.
PROJECT_ROOT = Path(os.environ.get("CAKUPAN_PROJECT_ROOT") or Path(__file__).resolve().parents[2]).resolve()

# name, default (relative paths are under CAKUPAN_HOME), meaning: docs/configuration.md's table and .env.example
# follow it (tests/test_deployment_files.py checks both).
# Each setting's default is written here once: load_settings reads it from this list.
DOCUMENTED = [
    ("CAKUPAN_PROJECT_ROOT", "<repo>",
     "the folder with dags/, dbt_project/, expectations/ and award/ (default: the checkout the package is in)"),
    ("CAKUPAN_HOME", "<repo>/.cakupan", "state folder: embedded warehouse, caches, Airflow home, sample data, docs"),
    ("CAKUPAN_WAREHOUSE_URL", "(embedded)",
     "libpq URL of an existing PostgreSQL server and database; when set, nothing is started"),
    ("CAKUPAN_WAREHOUSE_SETUP_URL", "(none)",
     "URL with a user that may create roles; read only by `cakupan warehouse setup`"),
    ("CAKUPAN_WAREHOUSE_PORT", "(a free port)",
     "port of the embedded PostgreSQL on 127.0.0.1 (docker compose: the warehouse's port on 127.0.0.1)"),
    ("CAKUPAN_CACHE_DIR", "$CAKUPAN_HOME/cache", "downloaded reference packages (idn-area-data)"),
    ("CAKUPAN_LANDING_ROOT", "$CAKUPAN_HOME/sample/landing", "branch exports: <KODE>/<YYYY-MM-DD>/"),
    ("CAKUPAN_REFERENCE_ROOT", "$CAKUPAN_HOME/sample/reference",
     "kantor_cabang.csv, penduduk_bekerja.csv and the optional pemberi_kerja.csv"),
    ("CAKUPAN_REPORTS_ROOT", "$CAKUPAN_HOME/reports", "per-branch rejection reports, <KODE>/<YYYY-MM-DD>/"),
    ("CAKUPAN_DOCS_DIR", "$CAKUPAN_HOME/docs", "the generated docs site (dbt docs, GX Data Docs)"),
    ("CAKUPAN_BOUNDARIES", "(none)",
     "GeoJSON or TopoJSON file of district (kabupaten/kota) boundaries keyed by Kemendagri code, such as BIG's; "
     "the province pages draw district maps from it (none: no district maps)"),
    ("CAKUPAN_DATA_PACKAGES_KEEP", "31",
     "nights of downloadable data packages (`data/<YYYY-MM-DD>/` of the docs site) kept; older ones are deleted"),
    ("CAKUPAN_EXPECTATIONS_DIR", "<repo>/expectations",
     "the Great Expectations project (File Data Context) the gates run"),
    ("CAKUPAN_AWARD_RUBRIC", "<repo>/award/rubric.yml", "the Paritrana Award rubric the award marts score with"),
    ("CAKUPAN_PII_KEY", "(required; the demo makes one)",
     "key of the HMAC-SHA256 that pseudonymises NIK; or the Airflow connection cakupan_pii_key"),
    ("CAKUPAN_VULNERABLE_TARGET", "100", "covered vulnerable workers a village needs to meet its target"),
    ("CAKUPAN_BRANCH_LATE_WARN_DAYS", "2",
     "days without a delivery before a branch is flagged (the night still publishes)"),
    ("CAKUPAN_BRANCH_LATE_ERROR_DAYS", "14", "days without a delivery before the night fails and nothing is published"),
    ("CAKUPAN_DBT_THREADS", "4", "queries dbt runs side by side in a build"),
    ("CAKUPAN_DBT_PARALLEL_WORKERS", "0",
     "PostgreSQL parallel workers a dbt query may use on top of dbt's threads; raise it only on a warehouse "
     "with cores to spare beyond those"),
    ("CAKUPAN_DBT_FILE_LOG_LEVEL", "info",
     "what dbt writes to `<home>/dbt/logs/dbt.log`; `debug` adds every statement it sends"),
    ("CAKUPAN_LOAD_BATCHES", "(one per core)",
     "load tasks a night splits its deliveries into; with Celery workers, their task slots in all "
     "(`cakupan airflow up --executor celery` sets it)"),
    ("CAKUPAN_WORKER_NAME", "(the machine's name)",
     "the host a Celery worker's task instances record; `cakupan airflow up --executor celery` names each worker "
     "worker-<n>@<machine>"),
    ("CAKUPAN_TASK_RETRIES", "2", "retries of a DAG task after a transient failure (warehouse unreachable)"),
    ("CAKUPAN_ADMIN_PASSWORD", "(embedded: generated)",
     "password of the warehouse role cakupan_admin (schemas, reference)"),
    ("CAKUPAN_LOADER_PASSWORD", "(embedded: generated)", "password of the role cakupan_loader (writes raw and audit)"),
    ("CAKUPAN_TRANSFORMER_PASSWORD", "(embedded: generated)",
     "password of the role cakupan_transformer (dbt, gates, publishing)"),
    ("CAKUPAN_BI_PASSWORD", "(embedded: generated)",
     "password of the role cakupan_bi (BI tools and reviewers: reads marts only)"),
    ("CAKUPAN_BI_STATEMENT_TIMEOUT", "5min",
     "longest a cakupan_bi query may run (a PostgreSQL duration: 90s, 5min, 0 for none); set on the role by "
     "`cakupan warehouse setup`"),
    ("CAKUPAN_BI_IDLE_IN_TRANSACTION_TIMEOUT", "5min",
     "longest a cakupan_bi session may sit idle inside a transaction before PostgreSQL ends it (a duration)"),
    ("CAKUPAN_ALERT_WEBHOOK_URL", "(none)",
     "URL that receives a JSON summary of every failed task and missed deadline"),
    ("CAKUPAN_ALERT_EMAIL", "(none)",
     "comma-separated addresses mailed the same summary through Airflow's SMTP connection"),
    ("CAKUPAN_ALERT_SMTP_CONN_ID", "smtp_default",
     "the Airflow connection (AIRFLOW_CONN_...) of the SMTP server for alert mail"),
    ("CAKUPAN_PUBLISH_BY", "06:00", "time of day (WIB) by which a night's marts must be published, else an alert"),
    ("CAKUPAN_NIGHTLY_SCHEDULE", "0 1 * * *",
     "cron expression (WIB) of the nightly DAG; none: it runs only when triggered (API, UI, `cakupan run`)"),
    ("CAKUPAN_AIRFLOW_PORT", "8080",
     "port of the Airflow UI and REST API that `cakupan airflow up` starts on 127.0.0.1"),
    ("AIRFLOW_HOME", "$CAKUPAN_HOME/airflow",
     "Airflow's home (config, logs); its metadata database is the airflow database of the embedded server"),
]


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    home: Path
    cache_dir: Path
    warehouse_url: str | None
    warehouse_port: int | None
    landing_root: Path
    reference_root: Path
    reports_root: Path
    docs_dir: Path
    boundaries: Path | None
    data_packages_keep: int
    pii_key: str | None
    vulnerable_target: int
    task_retries: int
    load_batches: int
    branch_late_warn_days: int
    branch_late_error_days: int
    airflow_home: Path
    dbt_threads: int
    dbt_parallel_workers: int
    dbt_file_log_level: str
    alert_webhook_url: str | None
    alert_emails: tuple[str, ...]
    alert_smtp_conn_id: str
    publish_by: str
    airflow_port: int
    nightly_schedule: str | None
    warehouse_setup_url: str | None
    role_passwords: dict[str, str]
    bi_statement_timeout: str
    bi_idle_in_transaction_timeout: str
    expectations_dir: Path
    award_rubric: Path
    project_root: Path = PROJECT_ROOT

    @property
    def dags_dir(self) -> Path:
        return self.project_root / "dags"

    @property
    def plugins_dir(self) -> Path:
        return self.project_root / "plugins"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_root / "dbt_project"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def embedded(self) -> bool:
        return self.warehouse_url is None


def _schedule(text: str) -> str | None:
    """A cron expression in WIB; `none` runs the nightly DAG only when triggered (API, UI, `cakupan run`)."""
    return None if text.strip().lower() in ("", "none") else text.strip()


_DEFAULTS = {name: default for name, default, _ in DOCUMENTED}


def _env(name: str) -> str:
    """The variable as set (even empty), else its default in DOCUMENTED."""
    return os.environ.get(name, _DEFAULTS[name])


def _env_or_default(name: str) -> str:
    """The variable unless unset or empty, else its default in DOCUMENTED."""
    return os.environ.get(name) or _DEFAULTS[name]


def _optional(name: str) -> str | None:
    """A variable without a default ("(none)", "(embedded)" ...): None when unset or empty."""
    return os.environ.get(name) or None


def load_settings() -> Settings:
    home = _path("CAKUPAN_HOME", PROJECT_ROOT / ".cakupan")
    port = _optional("CAKUPAN_WAREHOUSE_PORT")
    boundaries = _optional("CAKUPAN_BOUNDARIES")
    return Settings(
        home=home,
        cache_dir=_path("CAKUPAN_CACHE_DIR", home / "cache"),
        warehouse_url=_optional("CAKUPAN_WAREHOUSE_URL"),
        warehouse_port=int(port) if port else None,
        landing_root=_path("CAKUPAN_LANDING_ROOT", home / "sample" / "landing"),
        reference_root=_path("CAKUPAN_REFERENCE_ROOT", home / "sample" / "reference"),
        reports_root=_path("CAKUPAN_REPORTS_ROOT", home / "reports"),
        docs_dir=_path("CAKUPAN_DOCS_DIR", home / "docs"),
        boundaries=Path(boundaries).expanduser().resolve() if boundaries else None,
        data_packages_keep=int(_env_or_default("CAKUPAN_DATA_PACKAGES_KEEP")),
        pii_key=_optional("CAKUPAN_PII_KEY"),
        vulnerable_target=int(_env("CAKUPAN_VULNERABLE_TARGET")),
        task_retries=int(_env("CAKUPAN_TASK_RETRIES")),
        load_batches=max(1, int(_optional("CAKUPAN_LOAD_BATCHES") or os.cpu_count() or 1)),
        branch_late_warn_days=int(_env("CAKUPAN_BRANCH_LATE_WARN_DAYS")),
        branch_late_error_days=int(_env("CAKUPAN_BRANCH_LATE_ERROR_DAYS")),
        airflow_home=_path("AIRFLOW_HOME", home / "airflow"),
        dbt_threads=int(_env_or_default("CAKUPAN_DBT_THREADS")),
        dbt_parallel_workers=int(_env_or_default("CAKUPAN_DBT_PARALLEL_WORKERS")),
        dbt_file_log_level=_env_or_default("CAKUPAN_DBT_FILE_LOG_LEVEL"),
        alert_webhook_url=_optional("CAKUPAN_ALERT_WEBHOOK_URL"),
        alert_emails=tuple(a.strip() for a in os.environ.get("CAKUPAN_ALERT_EMAIL", "").split(",") if a.strip()),
        alert_smtp_conn_id=_env_or_default("CAKUPAN_ALERT_SMTP_CONN_ID"),
        publish_by=_env_or_default("CAKUPAN_PUBLISH_BY"),
        airflow_port=int(_env_or_default("CAKUPAN_AIRFLOW_PORT")),
        nightly_schedule=_schedule(_env("CAKUPAN_NIGHTLY_SCHEDULE")),
        warehouse_setup_url=_optional("CAKUPAN_WAREHOUSE_SETUP_URL"),
        role_passwords={role: os.environ[f"CAKUPAN_{role.upper()}_PASSWORD"]
                        for role in ("admin", "loader", "transformer", "bi")
                        if os.environ.get(f"CAKUPAN_{role.upper()}_PASSWORD")},
        bi_statement_timeout=_env_or_default("CAKUPAN_BI_STATEMENT_TIMEOUT"),
        bi_idle_in_transaction_timeout=_env_or_default("CAKUPAN_BI_IDLE_IN_TRANSACTION_TIMEOUT"),
        expectations_dir=_path("CAKUPAN_EXPECTATIONS_DIR", PROJECT_ROOT / "expectations"),
        award_rubric=_path("CAKUPAN_AWARD_RUBRIC", PROJECT_ROOT / "award" / "rubric.yml"),
    )
