"""`make bench`: speed and memory measured side by side in one run, written to docs/benchmarks.{json,md}
(figures only; the notes on them are the hand-written docs/benchmark-notes.md).

Ratios, not absolute times, so they mean the same on any machine: each contender runs back to back with its
baseline (interleaved) and the report keeps the median. Nothing runs in the user's warehouse:
- load_vs_copy and the loader's memory (`bench_load`): one branch's file, in a database of its own;
- a whole national-shape night (`bench_night`): its own home, warehouse and Airflow, under the scheduler:
  end_to_end_s, dag_vs_critical_path, every task's peak memory, gx_vs_sql, dbt_vs_sql; then the night after
  it (1 % of participants changed) as the nightly runs it, and incremental_vs_full on it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from cakupan.bench.bench_load import BENCH_DATE, measure_load
from cakupan.bench.bench_night import measure_night
from cakupan.sample.generate import generate, generate_next_night
from cakupan.settings import Settings

NEXT_NIGHT_CHANGED = 0.01  # the share of participants whose status, village or funding changes the next night


def _national_sample(settings: Settings, participants: int) -> Path:
    """All provinces, districts and villages, 325 branches sized by workforce, and the night after it; generated
    once, then reused."""
    root = settings.home / "bench" / f"national-p{participants}"
    # penduduk_bekerja.csv is written last; a sample from before the employer reference is made again.
    if not all((root / "reference" / name).exists() for name in ("pemberi_kerja.csv", "penduduk_bekerja.csv")):
        shutil.rmtree(root, ignore_errors=True)
        print(f"Generating a national-shape night of {participants:,} participants (once; minutes) ...", flush=True)
        generate(root, BENCH_DATE, participants=participants, national=True, seed=7, cache_dir=settings.cache_dir,
                 progress=lambda _: None)
    following = BENCH_DATE + dt.timedelta(days=1)
    if not any((root / "landing").glob(f"*/{following.isoformat()}/_manifest.json")):
        print(f"Generating the night after it, {NEXT_NIGHT_CHANGED:.0%} of participants changed ...", flush=True)
        generate_next_night(root / "landing", BENCH_DATE, changed_share=NEXT_NIGHT_CHANGED, seed=8,
                            progress=lambda _: None)
    return root


def _machine() -> dict:
    return {"cores": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30)}


def run_bench(settings: Settings, participants: int = 1_000_000, repeats: int = 5) -> dict:
    print(f"load_vs_copy: one branch's file of {participants:,} rows, {repeats} interleaved repeats ...", flush=True)
    load = measure_load(settings, participants, repeats)
    national = _national_sample(settings, participants)
    print(f"A whole night at {participants:,} participants under Airflow's scheduler ...", flush=True)
    # Half as many repeats as the loader's (a repeat of the night's measures takes minutes at 10 M), and an odd
    # number of them: the median of two is only their mean, which one slow repeat moves.
    night = measure_night(settings, national / "landing", national / "reference", BENCH_DATE,
                          repeats=max(1, repeats // 2) | 1, next_night=True)
    return {
        "participants": participants,
        "machine": _machine(),
        **{key: load[key] for key in ("load_vs_copy", "load_vs_copy_repeats", "load_rows_per_s", "copy_rows_per_s")},
        "gx_vs_sql": night["gx"]["gx_vs_sql"],
        "gx_statements": night["gx"]["gx_statements"],
        "dbt_vs_sql": night["dbt"]["dbt_vs_sql"],
        "incremental_vs_full": night["next_night"]["incremental_vs_full"],
        "dag_vs_critical_path": night["dag_vs_critical_path"],
        "end_to_end_s": night["end_to_end_s"],
        "next_night_s": night["next_night"]["end_to_end_s"],
        "peak_rss_mib": night["peak_rss_mib"],
        "loader_peak_rss_mib": load["loader_peak_rss_mib"],
        "site": night["site"],
        "night": {key: value for key, value in night.items()
                  if key not in ("peak_rss_mib", "gx", "dbt", "next_night", "site")},
        "gx": night["gx"],
        "dbt": night["dbt"],
        "next_night": night["next_night"],
    }


def _table(result: dict) -> list[str]:
    night = result["night"]
    rows = [
        ("participants", f"{result['participants']:,}", "10,000,000 for the full run"),
        ("load_vs_copy", f"{result['load_vs_copy']} ({result['load_rows_per_s']:,} vs {result['copy_rows_per_s']:,} "
                         f"rows/s; repeats {', '.join(map(str, result['load_vs_copy_repeats']))})", ">= 0.5"),
        ("gx_vs_sql", f"{result['gx_vs_sql']} ({result['gx']['gx_seconds']} s against {result['gx']['sql_seconds']} s, "
                      f"{result['gx']['checks']} checks)", "<= 2"),
        ("gx_statements", str(result["gx_statements"]), ""),
        ("dbt_vs_sql", f"{result['dbt_vs_sql']} ({result['dbt']['dbt_seconds']} s against "
                       f"{result['dbt']['sql_seconds']} s, {result['dbt']['nodes']} nodes)", "<= 1.5"),
        ("incremental_vs_full", f"{result['incremental_vs_full']} ({result['next_night']['incremental_seconds']} s "
                                f"against {result['next_night']['full_refresh_seconds']} s: the nightly dbt build of "
                                f"the next night, {NEXT_NIGHT_CHANGED:.0%} of participants changed)", "<= 0.15"),
        ("dag_vs_critical_path", f"{result['dag_vs_critical_path']} ({night['dag_wall_s']} s against "
                                 f"{night['critical_path_s']} s)", "<= 1.3"),
        ("end_to_end_s", f"{result['end_to_end_s']} (the night and its docs site)",
         "< 1800 at 10 M on 2 cores"),
        ("next_night_s", f"{result['next_night_s']} (the night after, {NEXT_NIGHT_CHANGED:.0%} of participants "
                         "changed, as the nightly runs it)", "< 600 at 60 M on 2 cores"),
    ]
    site = result.get("site")
    if site:
        rows += [("site build_docs_s", f"{site['build_docs_s']} (dbt docs, then {site['pages']:,} reviewers' pages)",
                  "about 60 at national size"),
                 ("site heaviest_page_kib", f"{site['heaviest_page_kib']} ({site['heaviest_page']}, with the CSS "
                                           "and scripts it loads)", "about 1024"),
                 ("site dbt_docs_kib", f"{site['dbt_docs_kib']} (dbt's own single page)", "")]
    rows += [(f"peak_rss_mib: {task}", f"{mib} MiB", "flat in file size")
             for task, mib in result["peak_rss_mib"].items()]
    rows += [(f"loader peak_rss_mib: {size}", f"{mib} MiB", "flat in file size")
             for size, mib in result["loader_peak_rss_mib"].items()]
    lines = ["| key | value | target |", "|---|---|---|"] + [f"| {k} | {v} | {t} |" for k, v, t in rows]
    lines += ["", "Task seconds in the measured night (own run time, mapped instances summed): "
              + ", ".join(f"{task} {seconds}" for task, seconds in night["task_seconds"].items()) + "."]
    return lines


def render_markdown(result: dict) -> str:
    """docs/benchmarks.md from a run's result (or the saved docs/benchmarks.json): the figures only; what they
    mean is the hand-written docs/benchmark-notes.md."""
    lines = ["# Benchmarks", "", f"Measured by `make bench` on {result['machine']['cores']} cores, "
             f"{result['machine']['memory_gib']} GiB; medians of interleaved repeats.", ""]
    lines += _table(result)
    lines += ["", "How these were measured, and how they moved: [`benchmark-notes.md`](benchmark-notes.md)."]
    return "\n".join(lines) + "\n"


def write_report(result: dict, docs_dir: Path) -> tuple[Path, Path]:
    docs_dir.mkdir(parents=True, exist_ok=True)
    json_path = docs_dir / "benchmarks.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path = docs_dir / "benchmarks.md"
    md_path.write_text(render_markdown(result))
    return json_path, md_path
