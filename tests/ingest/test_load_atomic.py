"""A load killed mid-file leaves nothing visible, and the next run loads the same delivery cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
from delivery_builder import PESERTA_HEADER, csv_bytes, peserta, register_branches, write_delivery

ROWS = 400_000

LOADER = """
import sys
from pathlib import Path
from cakupan.platform import db
from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
from cakupan.settings import load_settings
settings = load_settings()
with db.connect(settings, "loader") as conn:
    load_delivery(conn, landing.delivery_at(Path(sys.argv[1])), Pseudonymiser(settings.pii_key),
                  progress=lambda line: print(line, flush=True))
"""


def big_peserta() -> bytes:
    rows = [peserta(kpj=f"{10_000_000_000 + i}") for i in range(ROWS)]
    return csv_bytes(PESERTA_HEADER, rows)


def test_killed_load_leaves_nothing_and_reruns_cleanly(empty_warehouse, tmp_path):
    conn = empty_warehouse
    folder = write_delivery(tmp_path, "SAWAHLUNTO", "2026-11-20", [], files={"peserta.csv": big_peserta()},
                            row_counts={"peserta.csv": ROWS})
    register_branches(conn, "SAWAHLUNTO")
    # A process killed without warning cannot clear its scratch folder: keep it in the test's own.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-c", LOADER, str(folder)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    # Wait until the loader has streamed part of the file into COPY, then kill it without warning.
    first_progress = process.stdout.readline()
    assert "rows read" in first_progress
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    deadline = time.monotonic() + 30
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cakupan' "
                       "AND pid <> pg_backend_pid() AND state <> 'idle'").fetchone()[0]:
        assert time.monotonic() < deadline, "the killed loader's session did not end"
        time.sleep(0.1)
    for table in ("raw.deliveries", "raw.peserta", "raw.iuran", "audit.file_loads", "audit.rejected_rows"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table

    outcome = load_delivery(conn, landing.delivery_at(folder), Pseudonymiser(os.environ["CAKUPAN_PII_KEY"]),
                            progress=lambda _: None)
    assert outcome.status == "loaded"
    assert conn.execute("SELECT count(*) FROM raw.peserta").fetchone()[0] == ROWS
    assert conn.execute(
        "SELECT rows_read, rows_loaded, rows_rejected FROM audit.file_loads WHERE file_name = 'peserta.csv'"
    ).fetchone() == (ROWS, ROWS, 0)
