"""`make bench`: speed and memory measured side by side in one run, written to docs/benchmarks.{json,md}.

Ratios, not absolute times, so they mean the same on any machine: each repeat runs the contenders back to
back (interleaved) and the report keeps the median. Runs in its own database, never the user's warehouse.
Measured here: load_vs_copy and the loader's peak memory at two file sizes (memory must not grow with
file size). The keys of shared/spec/benchmarks.md not measured yet are listed under `not_measured`.
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

from cakupan import db
from cakupan.generate import generate
from cakupan.landing import find_deliveries
from cakupan.reference import load_regions
from cakupan.settings import Settings
from cakupan.warehouse import ensure_databases, warehouse_url, with_database

BENCH_DATABASE = "cakupan_bench"
D = dt.date(2026, 11, 20)
NOT_MEASURED = ["gx_vs_sql", "gx_statements", "dbt_vs_sql", "dag_vs_critical_path", "incremental_vs_full",
                "end_to_end_s"]

# Loads one delivery in a fresh process, so its peak RSS is the loader's alone.
LOADER = """
import json, os, resource, sys, time
from pathlib import Path
import psycopg
from cakupan import landing
from cakupan.load import load_delivery
from cakupan.pseudonymise import Pseudonymiser
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
    conn.execute("TRUNCATE raw.deliveries, raw.peserta, raw.iuran, audit.file_loads, audit.rejected_rows")


def _plain_copy(conn: psycopg.Connection, path: Path) -> float:
    """rows/s of COPY of the same file into an unconstrained table (the server parses the CSV). A plain,
    logged table, as `raw.peserta` is: the same durability on both sides."""
    header = path.open(encoding="utf-8").readline().strip().split(",")
    conn.execute("DROP TABLE IF EXISTS public.plain_copy")
    conn.execute(f"CREATE TABLE public.plain_copy ({', '.join(f'{c} text' for c in header)})")
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy("COPY public.plain_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
    elapsed = time.perf_counter() - started
    rows = conn.execute("SELECT count(*) FROM public.plain_copy").fetchone()[0]
    conn.execute("DROP TABLE public.plain_copy")
    return rows / elapsed


def _project_load(url: str, conn: psycopg.Connection, folder: Path) -> dict:
    _reset(conn)
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
        generate(folder_root, D, branches=1, participants=participants, seed=11, cache_dir=settings.cache_dir,
                 progress=lambda _: None)
    deliveries, _ = find_deliveries(folder_root / "landing", D)
    return deliveries[0].folder


def run_bench(settings: Settings, participants: int = 1_000_000, repeats: int = 3) -> dict:
    url = _bench_url(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        db.apply_schema(conn)
        load_regions(conn, settings.cache_dir, progress=lambda _: None)
        work = settings.home / "bench"
        big = _sample(work, participants, settings)
        small = _sample(work, max(participants // 10, 1_000), settings)
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
    result = {
        "participants": participants,
        "machine": {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30)},
        "load_vs_copy": round(statistics.median(ratios), 3),
        "load_rows_per_s": round(statistics.median(load_rates)),
        "copy_rows_per_s": round(statistics.median(copy_rates)),
        "peak_rss_mib": {
            "load_export": round(load["peak_rss_mib"], 1),
            f"load_export_at_{small_load['rows']}_rows": round(small_load["peak_rss_mib"], 1),
        },
        "not_measured": NOT_MEASURED,
    }
    return result


LOADER_NOTES = """## Notes on load_vs_copy (profiled at 1 M rows, 2 cores)

- The ratio depends on the machine, the baseline most: on 2026-11-24 plain COPY ran at 1,081,000 rows/s and
  the loader at 349,000 (0.33); on 2026-11-26, on a machine of the same kind but slower, COPY ran at 470,000
  and the loader at 193,000 (0.41). Re-run `make bench` where it matters; both sides run in the same run.
- The comparison: PostgreSQL parsing the same CSV into a plain (logged, like `raw.peserta`) table of text
  columns. Logged and unlogged measured the same within noise here (0.82 s and 0.77 s a million rows).
- The loader streams the file through DuckDB (`judge.py`: CSV parse, every row rule, HMAC-SHA256 of the
  NIK, COPY text lines) on one thread, a batch ahead of PostgreSQL's COPY into `raw.peserta` on the other
  core. Per million rows: DuckDB ~2.45 CPU-s (HMAC 0.8: four SHA-256 blocks a NIK without the CPU's SHA
  instructions; trimming 0.36; the rules 0.36; CSV parse and line building the rest), PostgreSQL ~1.4 CPU-s
  (its COPY of the typed rows costs more than the plain COPY: a 64-character pseudonym and three delivery
  columns a row), setup ~0.35 s (checksum pass, first batch). The judge is the critical path.
- The duplicate-KPJ rule costs nothing for a file whose KPJs ascend (exports sorted by KPJ prove it while
  streaming); otherwise a sort-based count(DISTINCT) (~0.3 s) decides whether the full statement runs.
- Tried and measured, not kept: Arrow's multi-threaded CSV reader feeding a parallel DuckDB judge (rows
  carry their numbers): 0.297 against 0.304, with 448 MiB instead of 283 MiB. On two cores the judge and
  PostgreSQL then compete for the same cores; together they need ~4 CPU-s against the ~1.7 that 0.5 allows
  per core pair. DuckDB's only way to number CSV rows, a streaming window, keeps the judge on one thread.
- Building Arrow arrays from Python objects made pyarrow import pandas (0.7 s a process); the row number
  is written by DuckDB and the village codes are split there.
- Before this design the loader ran at 0.049 (Python csv reader, HMAC per row in Python, rules judged in
  PostgreSQL at ~7 us a row).
- What could still close the gap: fewer bytes for PostgreSQL (binary COPY, a 32-byte pseudonym, delivery
  columns only in `raw.deliveries`), and a third core for the judge.
- Memory: DuckDB's buffer pool fills towards its 256 MB cap while a file streams and then stays there, so
  the peak is bounded whatever the size of the file, but it is not the same at 100,000 rows as at 1,000,000.
"""


def write_report(result: dict, docs_dir: Path) -> tuple[Path, Path]:
    docs_dir.mkdir(parents=True, exist_ok=True)
    json_path = docs_dir / "benchmarks.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Benchmarks", "", f"Measured by `make bench` on {result['machine']['cores']} cores, "
             f"{result['machine']['memory_gib']} GiB; medians of interleaved repeats.", "",
             "| key | value | target |", "|---|---|---|",
             f"| participants | {result['participants']:,} | 10,000,000 for the full run |",
             f"| load_vs_copy | {result['load_vs_copy']} ({result['load_rows_per_s']:,} vs {result['copy_rows_per_s']:,} rows/s) | >= 0.5 |"]
    for task, mib in result["peak_rss_mib"].items():
        lines.append(f"| peak_rss_mib: {task} | {mib} MiB | flat in file size |")
    lines += ["", "Not measured yet: " + ", ".join(result["not_measured"]) + ".", "", LOADER_NOTES]
    md_path = docs_dir / "benchmarks.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
