"""What a terminal shows of a night run in-process (`cakupan run`, `backfill`, `demo`): Cakupan's own progress
lines, while everything the process writes (Airflow's task logs and tracebacks, dbt's output) goes to a log
file, whole. Without this a night that loses its warehouse prints hundreds of lines of tracebacks from
Airflow's scheduler loop, its API client and every task, and the one line that says what to do is lost.

The redirection is of the file descriptors 1 and 2, not of `sys.stdout`: Airflow's log handlers keep the
streams they were given, and dbt runs as a child process.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cakupan.platform.state_folder import make_private_file

# A progress line of Cakupan's task code (nightly, operators), at info or warning: structlog's console format
# with the logger in brackets. Errors are left to the log file: `cakupan run` says in one line what failed.
PROGRESS_LINE = re.compile(r"^\S+ \[(info|warning)\s*\] .*\[airflow\.task\.operators\.cakupan[.\]\w]*")


@contextmanager
def progress_only(log_path: Path) -> Iterator[Path]:
    """Within the block, the process's output goes whole to `log_path` (0600: it names files and tasks), and
    the lines matching PROGRESS_LINE also to the terminal."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    make_private_file(log_path)
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.dup(1)
    saved_error = os.dup(2)
    reader, writer = os.pipe()
    copier = threading.Thread(target=_copy, args=(reader, log_path, terminal), daemon=True)
    copier.start()
    os.dup2(writer, 1)
    os.dup2(writer, 2)
    os.close(writer)
    try:
        yield log_path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(terminal, 1)
        os.dup2(saved_error, 2)
        os.close(saved_error)
        # A child process still holding the pipe (a dbt the night left behind) would keep it open: the copy
        # then stops waiting rather than holding the command.
        copier.join(timeout=5)
        if not copier.is_alive():
            os.close(terminal)


def _copy(reader: int, log_path: Path, terminal: int) -> None:
    with os.fdopen(reader, "rb") as lines, log_path.open("ab") as log:
        for line in lines:
            log.write(line)
            log.flush()
            if PROGRESS_LINE.match(line.decode("utf-8", "replace")):
                with contextlib.suppress(OSError):  # the terminal closed: the log file still gets everything
                    os.write(terminal, line)
