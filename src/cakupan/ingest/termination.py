"""Stop the loader cleanly when it is told to (SIGTERM from Airflow, systemd, `kill`).

Python's default for SIGTERM ends the process on the spot: no `finally`, no `with` block's exit. The open
transaction then dies with the connection (harmless), but the judge's scratch folder and spool file stay in
the temporary folder. Raising an exception in the main thread instead unwinds every `with` block: the
transaction rolls back, the temporary files go, and the process exits with 128 + SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(SystemExit):
    """SIGTERM arrived while loading. A SystemExit, so that `except Exception` handlers let it pass."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


@contextmanager
def stop_cleanly_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread; afterwards the previous handler is back.
    A previous Python handler (Airflow's task runner has one) is called once the block has unwound, so it
    still does its own part.

    Native code that checks for signals while it runs (DuckDB's query loop) calls the handler, catches the
    Terminated it raises and raises its own error instead ("Query interrupted"). So the handler also records
    that SIGTERM came, and whatever error then leaves the block becomes Terminated."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; a thread's caller handles them
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        yield
        return
    received = threading.Event()

    def raise_terminated(signum: int, frame: object) -> None:
        received.set()
        raise Terminated()

    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    except BaseException as error:
        if not received.is_set():
            raise
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signal.SIGTERM, None)
        if isinstance(error, Terminated):
            raise
        raise Terminated() from error
    finally:
        signal.signal(signal.SIGTERM, previous)
