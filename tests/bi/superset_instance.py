"""A real Superset for the tests: the pinned one in its own environment (`cakupan superset venv`), its metadata
in SQLite under the test home, an admin.

Making the environment and initialising Superset take about a minute of one core and need no warehouse, so
tests/bi/conftest.py starts `python superset_instance.py` in the background when the session collects a
Superset test, and runs those tests last. Initialised metadata is kept as a template, made again with the
environment, and every test starts from a copy of it.

Run directly: prepares the instance under $CAKUPAN_HOME/superset/instance.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ADMIN = "admin"
CHART_DATA_SCRIPT = Path(__file__).with_name("superset_chart_data.py")
# A CLI call of Superset imports it and builds its app first: the 8-15 s each step below costs, two cores busy.
STEP_TIMEOUT = 300
# Installing from a cold cache and initialising took 2 min on two busy cores; the test's own timeout is 10.
PREPARATION_TIMEOUT = 420


@dataclass(frozen=True)
class SupersetInstance:
    home: Path
    venv: Path

    @property
    def superset(self) -> Path:
        return self.venv / "bin" / "superset"

    @property
    def template(self) -> Path:
        return self.home / "template.db"

    @property
    def metadata(self) -> Path:
        return self.home / "superset.db"

    @property
    def config(self) -> Path:
        return self.home / "superset_config.py"

    @property
    def admin_password(self) -> str:
        return (self.home / "admin_password").read_text()

    def environment(self) -> dict[str, str]:
        return {**os.environ, "SUPERSET_CONFIG_PATH": str(self.config), "SUPERSET_HOME": str(self.home)}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(self.superset), *args], env=self.environment(), capture_output=True,
                                text=True, timeout=STEP_TIMEOUT)
        assert result.returncode == 0, f"superset {' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        return result

    def write_config(self, database: Path) -> None:
        secret = self.home / "secret_key"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(32))
        # The test client posts Superset's login form: no CSRF token, no HTTPS redirect.
        self.config.write_text(
            f"SECRET_KEY = {secret.read_text()!r}\n"
            f"SQLALCHEMY_DATABASE_URI = {'sqlite:///' + str(database)!r}\n"
            "WTF_CSRF_ENABLED = False\nTALISMAN_ENABLED = False\n")

    def fresh(self) -> SupersetInstance:
        """This instance on a copy of the initialised metadata: no dashboard, no database connection yet."""
        shutil.copyfile(self.template, self.metadata)
        self.write_config(self.metadata)
        return self

    def chart_data(self, dashboard_path: str) -> dict[str, dict]:
        """Every chart of the dashboard at `dashboard_path`, asked through Superset's web API by its own
        python: {slice name: {"viz_type", "data": rows}}."""
        result = subprocess.run(
            [str(self.venv / "bin" / "python"), str(CHART_DATA_SCRIPT), dashboard_path, ADMIN, self.admin_password],
            env=self.environment(), capture_output=True, text=True, timeout=STEP_TIMEOUT)
        assert result.returncode == 0, result.stderr[-6000:]
        return json.loads(result.stdout.splitlines()[-1])


def preparation_log() -> Path:
    from cakupan.settings import load_settings

    return load_settings().home / "superset" / "prepare.log"


def instance(settings) -> SupersetInstance:
    from cakupan.bi.superset import venv_dir

    return SupersetInstance(settings.home / "superset" / "instance", venv_dir(settings))


def prepare(settings) -> SupersetInstance:
    """The environment made (or kept), and a template of initialised metadata for it."""
    from cakupan.bi.superset import VENV_STAMP, ensure_venv

    started = time.monotonic()
    ensure_venv(settings)
    print(f"environment: {time.monotonic() - started:.1f} s", flush=True)
    made = instance(settings)
    made.home.mkdir(parents=True, exist_ok=True)
    stamp = made.home / "template.stamp"
    venv_stamp = (made.venv / VENV_STAMP).read_text()
    if made.template.exists() and stamp.exists() and stamp.read_text() == venv_stamp:
        return made
    made.template.unlink(missing_ok=True)
    (made.home / "admin_password").write_text(secrets.token_urlsafe(12))
    made.write_config(made.template)
    # What Superset's installation guide asks of a new instance, each a CLI call.
    for step in (("db", "upgrade"),
                 ("fab", "create-admin", "--username", ADMIN, "--firstname", "Cakupan", "--lastname", "Test",
                  "--email", "admin@localhost", "--password", made.admin_password),
                 ("init",)):
        started = time.monotonic()
        made.run(*step)
        print(f"superset {' '.join(step[:2])}: {time.monotonic() - started:.1f} s", flush=True)
    stamp.write_text(venv_stamp)
    return made


if __name__ == "__main__":
    from cakupan.settings import load_settings

    prepare(load_settings())
    sys.exit(0)
