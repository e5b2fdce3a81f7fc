"""The name a task instance records as the host that ran it (Airflow's `[core] hostname_callable`).

Celery workers that share a machine (`cakupan airflow up --executor celery --workers N`) would all record the
machine's name; each is started with CAKUPAN_WORKER_NAME, so the UI, the REST API and the tests see which
worker ran a task. Elsewhere the machine's fully qualified name, Airflow's default.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("CAKUPAN_WORKER_NAME") or socket.getfqdn()
