"""The docker compose deployment, checked by reading its files: no Docker engine runs here, so these tests
parse docker-compose.yml, Dockerfile, .env.example and docs/ (configuration, deployment) instead of starting anything.

They need no warehouse and no Docker; together they take a few milliseconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cakupan.platform.airflow_services import CELERY_SETTINGS
from cakupan.settings import DOCUMENTED

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
SERVICES: dict[str, dict] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
# The settings table and the compose section, as docs/ holds them (README links to both).
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()

# What docs/deployment.md promises.
CORE_SERVICES = {"airflow-db", "warehouse", "airflow-init", "airflow-apiserver", "airflow-scheduler",
                 "airflow-dag-processor", "airflow-triggerer"}
CELERY_SERVICES = {"redis", "airflow-worker"}
AIRFLOW_SERVICES = {name for name, service in SERVICES.items() if service.get("build") == "."}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|FERNET")
# `${VAR...}` or `$VAR`, but not `$${...}` / `$$VAR` (escaped for the shell inside the container).
INTERPOLATED = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def _env_example_variables() -> dict[str, str]:
    """Variables of .env.example, set (`NAME=value`) or shown commented out (`# NAME=value`)."""
    found = {}
    for line in ENV_EXAMPLE.splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _compose_variables() -> set[str]:
    without_comments = "\n".join(line for line in COMPOSE_TEXT.splitlines() if not line.lstrip().startswith("#"))
    return {a or b for a, b in INTERPOLATED.findall(without_comments)}


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _code_reads() -> set[str]:
    """CAKUPAN_* names the code reads from the environment (src/, plugins/ and dags/)."""
    patterns = [
        r"environ\.get\(\s*[\"'](CAKUPAN_\w+)[\"']",
        r"environ\[\s*[\"'](CAKUPAN_\w+)[\"']\s*\](?!\s*=[^=])",
        r"getenv\(\s*[\"'](CAKUPAN_\w+)[\"']",
        r"_path\(\s*[\"'](CAKUPAN_\w+)[\"']",
        r"_(?:env\w*|optional)\(\s*[\"'](CAKUPAN_\w+)[\"']",
    ]
    names: set[str] = set()
    for folder in ("src", "plugins", "dags"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            for pattern in patterns:
                names.update(re.findall(pattern, text))
    return names


def _readme_settings_table() -> list[tuple[str, str, str]]:
    section = CONFIGURATION
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append(tuple(" ".join(cell.replace("`", "").split()) for cell in cells))
    return rows


def _compose_section() -> str:
    return DEPLOYMENT


def test_every_promised_service_exists_and_is_described_in_the_readme():
    assert set(SERVICES) == CORE_SERVICES | CELERY_SERVICES
    section = _compose_section()
    for name in SERVICES:
        assert f"`{name}`" in section, f"docs/deployment.md does not describe {name}"
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
            "airflow-worker", "airflow-init"} <= AIRFLOW_SERVICES


def test_celery_services_only_under_the_celery_profile():
    for name, service in SERVICES.items():
        expected = ["celery"] if name in CELERY_SERVICES else None
        assert service.get("profiles") == expected, name
    assert "celery worker" in str(SERVICES["airflow-worker"]["command"])
    assert SERVICES["redis"]["image"].startswith("redis:")
    env = _environment(SERVICES["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
    for variable in ("AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND"):
        assert env[variable].startswith("${" + variable + ":-"), variable
    # The settings `cakupan airflow up --executor celery` runs the same topology with, here too.
    for variable, value in CELERY_SETTINGS.items():
        assert str(env[variable]) == value, variable


def test_depends_on_names_existing_services_with_the_right_readiness():
    for name, service in SERVICES.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in SERVICES, f"{name} depends on unknown service {target}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits for {target} to be healthy: no health check"
            elif condition == "service_completed_successfully":
                assert "restart" not in SERVICES[target], f"{target} must run once, not restart"
            else:
                assert condition == "service_started", condition
            # A service outside a profile cannot wait for one that only runs with it.
            if SERVICES[target].get("profiles"):
                assert service.get("profiles") == SERVICES[target]["profiles"], f"{name} -> {target}"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert SERVICES[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in SERVICES[name], name
    for name in ("airflow-db", "warehouse"):
        assert SERVICES[name]["image"] == "postgres:18"
        assert "pg_isready" in SERVICES[name]["healthcheck"]["test"]
        assert SERVICES["airflow-init"]["depends_on"][name]["condition"] == "service_healthy"


def test_health_checks_are_the_official_ones():
    def check(name: str) -> str:
        return " ".join(SERVICES[name]["healthcheck"]["test"])

    assert "http://localhost:8080/api/v2/monitor/health" in check("airflow-apiserver")
    assert "http://localhost:8974/health" in check("airflow-scheduler")
    assert _environment(SERVICES["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert "--job-type DagProcessorJob" in check("airflow-dag-processor")
    assert "--job-type TriggererJob" in check("airflow-triggerer")
    assert "inspect ping" in check("airflow-worker")
    assert "redis-cli" in check("redis")


def test_init_job_migrates_sets_up_the_warehouse_then_loads_the_reference():
    init = SERVICES["airflow-init"]
    script = init["command"][-1]
    steps = [script.index(step) for step in ("airflow db migrate", "cakupan warehouse setup", "cakupan reference load")]
    assert steps == sorted(steps)
    if shutil.which("bash"):
        # Compose turns `$$` into `$` and fills in `${VAR...}` before bash sees the script.
        shell = re.sub(r"(?<!\$)\$\{[^}]*\}", "x", script).replace("$$", "$")
        result = subprocess.run(["bash", "-n"], input=shell, text=True, capture_output=True)
        assert result.returncode == 0, result.stderr


def test_named_volumes_are_declared_and_bind_mounts_come_from_the_data_dir():
    declared = set(COMPOSE.get("volumes") or {})
    used = set()
    for name, service in SERVICES.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if not volume.startswith("${") else volume
            if source.startswith(("${", ".", "/", "~")):
                assert volume.startswith("${CAKUPAN_DATA_DIR:-./data}/"), f"{name}: unexpected bind mount {volume}"
                continue
            assert source in declared, f"{name} uses undeclared volume {source}"
            used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    mounts = {volume.split("}/", 1)[1].split(":")[0] for volume in SERVICES["airflow-scheduler"]["volumes"]
              if volume.startswith("${")}
    assert mounts == {"landing", "reference", "reports", "docs"}


def test_ports_are_published_on_127_0_0_1_only():
    published = {}
    for name, service in SERVICES.items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
            published[name] = port
    assert set(published) == {"warehouse", "airflow-apiserver"}


def test_airflow_services_share_secrets_and_only_init_may_create_roles():
    shared = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
              "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "CAKUPAN_PII_KEY", "CAKUPAN_WAREHOUSE_URL")
    environments = {name: _environment(SERVICES[name]) for name in AIRFLOW_SERVICES}
    for variable in shared:
        values = {env.get(variable) for env in environments.values()}
        assert len(values) == 1 and None not in values, f"{variable} differs between Airflow services"
    for name, env in environments.items():
        assert ("CAKUPAN_WAREHOUSE_SETUP_URL" in env) == (name == "airflow-init"), name
        assert "AIRFLOW_ADMIN_PASSWORD" not in env or name == "airflow-init", name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("SimpleAuthManager")
        assert "SIMPLE_AUTH_MANAGER_USERS" in " ".join(env)
    assert "providers.fab" not in COMPOSE_TEXT, "the FAB auth manager is not installed in this image"


def test_no_secret_is_committed():
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in gitignore
    for key, value in _env_example_variables().items():
        if SECRET_NAME.search(key) and not key.endswith("_FILE"):
            assert value == "", f".env.example gives {key} a value"
    assert "secrets.token_hex(32)" in ENV_EXAMPLE
    # No long random-looking token (a hex or base64 key) anywhere in these files.
    for text in (ENV_EXAMPLE, COMPOSE_TEXT, DOCKERFILE):
        for token in re.findall(r"[A-Za-z0-9+_-]{24,}={0,2}", text):
            digits, letters = sum(c.isdigit() for c in token), sum(c.isalpha() for c in token)
            assert digits < 4 or letters < 4, f"looks like a secret: {token}"
    # A password inside an example URL is a reference to another variable or an obvious placeholder.
    for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", ENV_EXAMPLE):
        assert password.startswith("${") or password == "CHANGE-ME", password
    # In docker-compose.yml every secret, and every password inside a URL, comes from .env.
    for name, service in SERVICES.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert value.startswith("${"), f"{name}: {key} is not taken from .env"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert password.startswith("${"), f"{name}: {key} holds a password"
    for variable in ("AIRFLOW_DB_PASSWORD", "WAREHOUSE_POSTGRES_PASSWORD", "CAKUPAN_PII_KEY",
                     "CAKUPAN_BI_PASSWORD", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert "${" + variable + ":?" in COMPOSE_TEXT, f"{variable} is not required"


def test_every_interpolated_variable_is_documented_in_env_example():
    documented = _env_example_variables()
    missing = sorted(_compose_variables() - set(documented))
    assert not missing, f"docker-compose.yml reads {missing}, which .env.example does not document"


def test_every_setting_the_code_reads_is_documented():
    names = {name for name, _, _ in DOCUMENTED}
    reads = _code_reads()
    assert reads, "the grep for environment reads found nothing"
    assert not reads - names, f"read by the code but not in settings.DOCUMENTED: {sorted(reads - names)}"
    documented = _env_example_variables()
    assert not (names | reads) - set(documented), f"not in .env.example: {sorted((names | reads) - set(documented))}"


def test_every_env_example_variable_has_a_comment():
    lines = ENV_EXAMPLE.splitlines()
    for number, line in enumerate(lines):
        if re.fullmatch(r"#?\s*[A-Z][A-Z0-9_]*=.*", line.strip()):
            above = lines[number - 1].strip()
            assert above.startswith("#") and not re.fullmatch(r"#\s*[A-Z][A-Z0-9_]*=.*", above), line


def test_readme_settings_table_equals_documented():
    expected = [tuple(" ".join(cell.replace("`", "").split()) for cell in row) for row in DOCUMENTED]
    assert _readme_settings_table() == expected


def test_dockerfile_extends_the_official_image_at_the_locked_airflow_version():
    lock = (ROOT / "requirements.lock").read_text()
    pinned = re.search(r"^apache-airflow==(\S+)$", lock, re.M).group(1)
    base = re.search(r"^FROM\s+(\S+)", DOCKERFILE, re.M).group(1)
    assert base == f"apache/airflow:{pinned}-python3.11"
    assert ">=3.11,<3.12" in (ROOT / "pyproject.toml").read_text()

    user = None
    installs = []
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines():
        if match := re.match(r"USER\s+(\S+)", line):
            user = match.group(1)
        if line.startswith("RUN") and re.search(r"\b(pip|uv pip) install\b", line):
            installs.append(line)
            assert user == "airflow", f"pip runs as {user}, not as the image's airflow user: {line}"
        if line.startswith("RUN") and "apt-get install" in line:
            assert user == "root" and "nodejs" in line and "npm" in line
    assert any("-r requirements.lock" in line and "apache-airflow==${AIRFLOW_VERSION}" in line for line in installs)
    assert any("--no-deps -e ." in line for line in installs)
    for folder in ("src", "plugins", "dags", "dbt_project", "expectations", "award", "pyproject.toml", "setup.py",
                   "requirements.lock"):
        assert re.search(rf"^COPY .*\b{re.escape(folder)}\b", DOCKERFILE, re.M), folder
        assert (ROOT / folder).exists()
    for setting in ("AIRFLOW__CORE__DAGS_FOLDER=/opt/cakupan/dags",
                    "AIRFLOW__CORE__PLUGINS_FOLDER=/opt/cakupan/plugins", "AIRFLOW__CORE__LOAD_EXAMPLES=False",
                    "AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Jakarta", "CAKUPAN_HOME="):
        assert setting in DOCKERFILE, setting
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", ".cakupan", "data"} <= set(ignored)


def test_no_pip_additional_requirements_anywhere():
    for text in (DOCKERFILE, COMPOSE_TEXT, ENV_EXAMPLE):
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text


@pytest.mark.parametrize("service", sorted(CORE_SERVICES | CELERY_SERVICES))
def test_airflow_services_build_the_project_image(service):
    spec = SERVICES[service]
    if service in {"airflow-db", "warehouse", "redis"}:
        assert "build" not in spec
    else:
        assert spec["build"] == "." and spec["user"] in ("${AIRFLOW_UID:-50000}:0", "0:0")
