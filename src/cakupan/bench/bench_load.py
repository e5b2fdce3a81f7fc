"""load_vs_copy for `make bench`: the loader against a plain COPY of the same file, side by side.

One branch's `peserta.csv` of N rows: each repeat COPYs it into an unconstrained table, then loads it with the
project's loader in a fresh process (so its peak memory is its own), in a database of its own
(`cakupan_bench`), never the user's warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from cakupan.ingest.landing import find_deliveries
from cakupan.platform import db
from cakupan.platform.warehouse import ensure_databases, warehouse_url, with_database
from cakupan.reference.loader import load_regions
from cakupan.sample.generate import generate
from cakupan.settings import Settings

BENCH_DATABASE = "cakupan_bench"
BENCH_DATE = dt.date(2026, 11, 20)  # the export date of every generated bench file

# Loads one delivery in a fresh process, so its peak RSS is the loader's alone.
LOADER = """
import json, os, resource, sys, time
from pathlib import Path
import psycopg
from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    started = time.perf_counter()
    outcome = load_delivery(conn, landing.delivery_at(Path(sys.argv[2])), Pseudonymiser("bench-key"),
                            progress=lambda _: None)
    elapsed = time.perf_counter() - started
rows = sum(f.rows_read for f in outcome.files if f.file_name.startswith("peserta"))
# The delivery's whole time (checksums, commit, ...) except the payments file's own: peserta is what is compared.
elapsed -= sum(f.seconds for f in outcome.files if not f.file_name.startswith("peserta"))
print(json.dumps({"seconds": elapsed, "rows": rows, "status": outcome.status,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _bench_url(settings: Settings) -> str:
    url = warehouse_url(settings, "setup")
    ensure_databases(with_database(url, "postgres"), extra=(BENCH_DATABASE,))
    return with_database(url, BENCH_DATABASE)


def _reset(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE raw.deliveries, raw.peserta, raw.peserta_changes, raw.iuran, audit.file_loads, "
                 "audit.rejected_rows")


def _plain_copy(conn: psycopg.Connection, path: Path) -> float:
    """rows/s of COPY of the same file into an unconstrained table (the server parses the CSV). A plain,
    logged table, as `raw.peserta` is: the same durability on both sides."""
    header = path.open(encoding="utf-8").readline().strip().split(",")
    conn.execute("DROP TABLE IF EXISTS public.plain_copy")
    conn.execute(f"CREATE TABLE public.plain_copy ({', '.join(f'{c} text' for c in header)})")
    started = time.perf_counter()
    with (
        conn.cursor() as cursor,
        cursor.copy("COPY public.plain_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        path.open("rb") as handle,
    ):
        while block := handle.read(1 << 20):
            copy.write(block)
    elapsed = time.perf_counter() - started
    rows = conn.execute("SELECT count(*) FROM public.plain_copy").fetchone()[0]
    conn.execute("DROP TABLE public.plain_copy")
    return rows / elapsed


def _project_load(url: str, conn: psycopg.Connection, folder: Path) -> dict:
    _reset(conn)
    # The loader rejects a branch that reference.branches does not list (contract section 7.3).
    conn.execute("INSERT INTO reference.branches (kode_cabang, nama_cabang, kanwil) VALUES (%s, %s, 'bench') "
                 "ON CONFLICT DO NOTHING", (folder.parent.name, folder.parent.name))
    os.utime(folder / "_manifest.json")  # a new delivery each time, not one already seen
    result = subprocess.run([sys.executable, "-c", LOADER, url, str(folder)], capture_output=True, text=True,
                            check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["status"] == "loaded", measured
    return measured


def _sample(root: Path, participants: int, settings: Settings) -> Path:
    folder_root = root / f"p{participants}"
    if not any(folder_root.glob("landing/*/*/_manifest.json")):
        shutil.rmtree(folder_root, ignore_errors=True)
        print(f"Generating a {participants:,}-participant export ...", flush=True)
        generate(folder_root, BENCH_DATE, branches=1, participants=participants, seed=11, cache_dir=settings.cache_dir,
                 progress=lambda _: None)
    deliveries, _ = find_deliveries(folder_root / "landing", BENCH_DATE)
    return deliveries[0].folder


def measure_load(settings: Settings, participants: int, repeats: int) -> dict:
    """load_vs_copy (median of interleaved repeats) on one branch's file of `participants` rows, and the
    loader's peak memory at that size and at a quarter of it."""
    url = _bench_url(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        db.apply_schema(conn)
        load_regions(conn, settings.cache_dir, progress=lambda _: None)
        work = settings.home / "bench"
        big = _sample(work, participants, settings)
        # A quarter: large enough to be judged in parts as the full file is, so the two peaks compare like with like.
        small = _sample(work, max(participants // 4, 1_000), settings)
        ratios, load_rates, copy_rates = [], [], []
        for repeat in range(1, repeats + 1):
            copy_rate = _plain_copy(conn, big / "peserta.csv")
            load = _project_load(url, conn, big)
            load_rate = load["rows"] / load["seconds"]
            ratios.append(load_rate / copy_rate)
            load_rates.append(load_rate)
            copy_rates.append(copy_rate)
            print(f"  repeat {repeat}/{repeats}: load {load_rate:,.0f} rows/s, plain COPY {copy_rate:,.0f} rows/s",
                  flush=True)
        small_load = _project_load(url, conn, small)
        _reset(conn)
    return {
        "load_vs_copy": round(statistics.median(ratios), 3),
        "load_vs_copy_repeats": [round(r, 3) for r in ratios],
        "load_rows_per_s": round(statistics.median(load_rates)),
        "copy_rows_per_s": round(statistics.median(copy_rates)),
        "loader_peak_rss_mib": {
            f"one_file_of_{load['rows']}_rows": round(load["peak_rss_mib"], 1),
            f"one_file_of_{small_load['rows']}_rows": round(small_load["peak_rss_mib"], 1),
        },
    }
