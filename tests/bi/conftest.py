"""The Superset tests' instance is prepared in the background from the end of collection, and those tests run
last: installing Superset and initialising it (superset_instance.py) then overlap the rest of the suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import superset_instance

_preparing: dict[str, subprocess.Popen] = {}


def _needs_superset(item: pytest.Item) -> bool:
    return item.get_closest_marker("superset") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_needs_superset)  # stable: every other test keeps its place


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not any(map(_needs_superset, session.items)):
        return
    log = superset_instance.preparation_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        # Its own process group, so that stopping it stops the uv or superset command it is waiting on.
        _preparing["process"] = subprocess.Popen([sys.executable, superset_instance.__file__], stdout=output,
                                                 stderr=subprocess.STDOUT, start_new_session=True)


def pytest_sessionfinish() -> None:
    process = _preparing.pop("process", None)
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


@pytest.fixture(scope="session")
def superset(settings) -> superset_instance.SupersetInstance:
    """The prepared Superset, waited for; prepared here when nothing started it (it then takes its time)."""
    process = _preparing.get("process")
    if process is not None:
        returncode = process.wait(timeout=superset_instance.PREPARATION_TIMEOUT)  # stopped at session end if late
        _preparing.pop("process")
        log = superset_instance.preparation_log().read_text()
        assert returncode == 0, f"preparing Superset failed:\n{log[-6000:]}"
    return superset_instance.prepare(settings)
