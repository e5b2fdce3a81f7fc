"""Ports on 127.0.0.1 for the services Cakupan starts on this machine (the warehouse, Airflow's API server)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """True when a server could listen on the port now. Probed as servers bind (PostgreSQL does too), with
    SO_REUSEADDR: connections of a server just stopped linger in TIME_WAIT for a minute, and without it the
    port looked taken, so a restarted warehouse moved to another port under its clients."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
