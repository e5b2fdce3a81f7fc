"""The few calls of Airflow's public REST API (v2) an external client makes: a JWT from /auth/token, then
unpause, trigger, wait and read task instances. Used by `make bench` and the scheduler test."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Collection


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        token = self._call("POST", "/auth/token", {"username": username, "password": password}, auth=False)
        self.token = token["access_token"]

    def _call(self, method: str, path: str, body: dict | None = None, *, auth: bool = True):
        request = urllib.request.Request(self.base_url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def get(self, path: str):
        return self._call("GET", "/api/v2" + path)

    def wait_for_dag(self, dag_id: str, timeout_s: float = 120) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.get(f"/dags/{dag_id}")
            except urllib.error.HTTPError as error:
                if error.code != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})

    def fail_unfinished_runs(self, dag_id: str) -> list[str]:
        """Mark the runs still queued or running as failed (a stack stopped mid-night leaves them behind,
        and with one active run a DAG, they would hold up the next)."""
        runs = self.get(f"/dags/{dag_id}/dagRuns?limit=100&state=queued&state=running")["dag_runs"]
        for run in runs:
            self._call("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}", {"state": "failed"})
        return [run["dag_run_id"] for run in runs]

    def trigger(self, dag_id: str, snapshot_date: dt.date) -> str:
        # No logical date: the business date travels in the conf, so a date may be run again (a re-run, a
        # backfill) without colliding with the scheduled run of the same day.
        run = self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {
            "logical_date": None, "conf": {"snapshot_date": snapshot_date.isoformat()}})
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600, poll_s: float = 3) -> str:
        deadline = time.monotonic() + timeout_s
        while (state := self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]) not in ("success", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {dag_id} still {state} after {timeout_s:.0f} s")
            time.sleep(poll_s)
        return state

    def asset_triggered_runs(self, dag_id: str) -> list[str]:
        return [run["dag_run_id"] for run in self.get(f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]
                if run["run_type"] == "asset_triggered"]

    def wait_for_asset_triggered_run(self, dag_id: str, timeout_s: float = 120, seen: Collection[str] = ()) -> str:
        """The latest run of `dag_id` an asset event triggered, other than those `seen` before."""
        deadline = time.monotonic() + timeout_s
        while not (runs := [run for run in self.asset_triggered_runs(dag_id) if run not in seen]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no asset-triggered run of {dag_id} after {timeout_s:.0f} s")
            time.sleep(2)
        return runs[-1]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of a run, mapped ones each on their own."""
        found: list[dict] = []
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100&offset={len(found)}")
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id) if ti["map_index"] in (-1, 0)}

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
