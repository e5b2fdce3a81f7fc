"""`make bench`: speed and memory measured side by side in one run, written to docs/benchmarks.{json,md}.

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
    if not (root / "reference" / "penduduk_bekerja.csv").exists():
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
        "peak_rss_mib": night["peak_rss_mib"],
        "loader_peak_rss_mib": load["loader_peak_rss_mib"],
        "night": {key: value for key, value in night.items() if key not in ("peak_rss_mib", "gx", "dbt", "next_night")},
        "gx": night["gx"],
        "dbt": night["dbt"],
        "next_night": night["next_night"],
    }


LOADER_NOTES = """## Notes on load_vs_copy (profiled at 1 M rows, 2 cores)

- The ratio moves with the machine and the moment: within one hour on these shared 2-core machines, plain
  COPY ran anywhere from 300,000 to 600,000 rows/s. Hence five interleaved repeats and the median ratio.
  The plain COPY slows down more than the loader when other work shares the cores, so a busy machine
  flatters the ratio: compare the two rates, not only their ratio, and re-run `make bench` where it matters.
- The comparison: PostgreSQL parsing the same CSV into a plain, logged table of text columns.
- 2026-11-27, the loader's CPU per million rows from 11.9 to 10.2 s (loader process and PostgreSQL backend,
  medians of 8 interleaved A/B runs on a busy machine; wall 5.65 to 4.96 s), by two changes. Before them
  the ratio was 0.47 when the machine was quiet, below the target.
  - Accepted rows go to PostgreSQL in COPY's binary format (encoded from the judge's Arrow batches by
    pgpq): the backend takes each value as it is instead of parsing text, 3.8 to 2.8-3.1 CPU-s, and the
    judge no longer formats lines. Rejected rows still go to the quarantine as COPY text.
  - Values are trimmed only in a file that may have a value to trim (a space next to `,`, `;` or a line
    end, or any quote: `inspect_file` finds out with numpy in the pass it already made). Trimming all 15
    columns cost the judge 0.6-0.75 CPU-s of ~4.5. The checksum now takes a pass of its own on the other
    core (hashlib lets go of the GIL), so the inspection costs no more than before.
- Before that, from 0.41-0.45 to 0.47 (quiet) on 2026-11-26:
  - `raw.peserta` keeps only what the numbers need, 10 columns instead of 17: branch and export date live
    in `raw.deliveries`; sex, programmes, employer, last period paid and wage are judged by the row rules
    but not stored, and the warehouse holds less personal detail.
  - A large file whose every line is one row (no quote character, no blank line: `inspect_file` proves it)
    is judged in parts, one a core, each numbering its rows from the lines before it (skipping the first
    half's lines costs the second part ~0.2 CPU-s). The judge alone: 4.2 s to 2.6 s for a million rows.
  - numpy counts the lines, and blocks of plain ASCII skip the UTF-8 decoder.
- Where a million rows' CPU goes now (single-thread DuckDB profile, busy machine): CSV parse ~0.5 s, the
  row rules and the values they parse ~2 s, HMAC-SHA256 of the NIK ~1.2 s (four SHA-256 blocks a NIK in
  DuckDB's own SHA-256, which does not use the CPU's SHA instructions; hashlib does, but a Python call a NIK
  costs more than the hash), PostgreSQL's COPY ~2.8 s. Every part runs on both cores at once: the judge's
  two parts and PostgreSQL's backend.
- A single delivery still pays ~0.3 s before its first row (inspection ~0.15 s, the judge's set-up with
  the 83,762 village codes ~0.14 s). In a night the judge is set up once a batch (docs/decisions.md).
- The duplicate-KPJ rule costs nothing for a file whose KPJs ascend (exports sorted by KPJ prove it while
  streaming, part by part); otherwise a sort-based count(DISTINCT) (~0.3 s) decides whether the full
  statement runs.
- Tried and measured, not kept:
  - more DuckDB threads for the parts (1, 2 or 3: no difference beyond the noise);
  - Arrow's multi-threaded CSV reader feeding a parallel judge (0.297 against 0.304 then, more memory);
  - DuckDB 2.0's `file_row_number`: its CSV reader does not support it.
- Memory: DuckDB's buffer pool is capped at 64 MB a core (128 MB here), with 16 MB CSV buffers; a part
  being judged needs ~64 MB (at 48 MB a part, four parts ran out of memory). The pool fills to its cap
  while a file streams and stays there, so the peak is bounded whatever the file's size: compare the
  peaks at the full and the quarter size.
"""


INCREMENTAL_NOTES = """## Notes on incremental_vs_full

- Measured on the night after the national night, 1 % of its participants changed (status, village or
  funding; `cakupan generate --next-night`), after that night ran as the nightly runs it: its nightly
  `dbt build` (after the night before's, not timed) against the same build with `--full-refresh`,
  interleaved (`bench_incremental`). Each repeat also checks that both builds made the same marts (the
  daily marts' rows of the night).
- The loader records what changed in each delivery since the branch's previous one (`raw.peserta_changes`);
  the nightly build applies those for every branch whose previous delivery is what the participants layer
  holds, rewrites only the KPJs and persons they name (a changed row in place, on its own page: no index
  written), and adds the changed rows to the counts and takes off the ones they replace. The night's
  payments are placed by KPJ lookup and counted by export date, so only the night's are counted
  (docs/decisions.md, changes 8 and 11-14).
- Every timed build starts after a `VACUUM` and a `CHECKPOINT`, as quiet as a night finds the warehouse
  (nights are a day apart): the first change to a page after a checkpoint writes the whole page to the WAL,
  and builds timed minutes apart met that by chance (17.7 or 22.2 s for the same nightly build at 10 M); and
  autovacuum, set off by each full refresh, ran beside the builds timed after it (see below; since change 18).
  The intermediate schema is unlogged.
- The embedded warehouse gives PostgreSQL's shared buffers a quarter of the machine's memory (change 15):
  with 2 GB on 24 GiB, a night's index probes copied most of their pages in from the kernel's cache.
- The rows of `int_participants_current` a night rewrites are worked out once (`int_participants_rewritten`,
  change 16), and read from there by the counts and the touched persons instead of looked up again.
- `int_persons_replaced` places the touched persons as they were from their rows instead of looking each up
  in `int_persons_covered` (change 17). The full run at 10 M after it (2026-11-28, before change 18):
  **0.153**, 15.79 s against 103.4 s (repeats 0.135, 0.153, 0.182), above the target by less
  than its repeats spread.
  `bench_incremental` alone on the same warehouse straight after: 0.142, 15.04 s against 106.66 s (0.142,
  0.152, 0.134). The evening before, on another warehouse of the same data: 0.130, 12.93 s against
  104.78 s (0.130, 0.134, 0.121). That warehouse's nightly build took 14.57 s on the morning of the full run
  (17.56 s the first time after its server started): the machine ran ~13 % slower that day, and the nightly
  build, all CPU on two cores, slowed more than the full refresh.
- After every full refresh, autovacuum vacuums the new 10 M-row tables (~60 s each on this machine), and the
  builds timed next ran beside it: the night before (not timed), two of the three timed nightly builds, the
  start of the next full refresh. A nightly build a day after the last night meets none of it. With it the
  nightly builds took 15.25 and 14.29 s, without it 15.04 s: not what kept the ratio at the target. Each
  timed build now starts after a `VACUUM` (change 18), which leaves autovacuum nothing to do in it (~6 s
  after a full refresh, ~5 s after a nightly build: autovacuum has done most of it by then). Measured so, on
  the warehouse of the 0.130 (2026-11-28, 3 repeats, no autovacuum seen in any nightly build): **0.140**,
  15.23 s against 112.53 s (0.146, 0.140, 0.125); on that full run's warehouse: **0.147**, 14.27 s against
  96.75 s (0.147, 0.153, 0.133). At the target, not under it with a margin: that needs a nightly build that
  does less (docs/decisions.md, change 18).
- The nightly build leaves the reference layer (9 staging views, 21 tests) as it is when nothing it is made
  of changed since a build tested it, and dbt's log file is at `info`, not `debug` (change 19: dbt's own
  CPU was a third of two cores in a nightly build). `bench_incremental` alone on that full run's warehouse:
  **0.126**, 11.81 s against 94.17 s (0.133, 0.116, 0.126). The full run at 10 M after it (2026-11-28,
  this table): **0.128**, 12.19 s against 94.94 s (repeats 0.118, 0.132, 0.128), under the target by more
  than its repeats spread.
- Measured (2026-11-27, late, after change 16, 3 repeats each, quiet machine):
  - 10 M participants: **0.145**, 12.87 s against 89.0 s (repeats 0.145, 0.146, 0.145; 0.153 after change
    15), with the night's payments taken out before each nightly repeat as they were before the night ran.
    On the warehouse `cakupan bench --participants 10000000` had just built, the same evening: 0.152 in its
    own two repeats (0.159, 0.146), then 0.148 in three more (12.59 s against 84.89 s; 0.137, 0.148, 0.153).
    The repeats spread by ±5 % on this machine, as wide as the margin left under the target.
    Of the nightly build, dbt's start-up and parse are ~3 s, the participants layer ~2.5 s, then ~4 s in
    which the night's 1.43 M payments are placed and counted (2.4 s alone) beside the upsert of the
    participants, the persons and the counts, the marts and the award ~2.3 s.
  - 1 M: see the table above: at this scale dbt's fixed cost (start-up ~2.7 s, ~50 ms a node for 108
    nodes on four threads) is most of the nightly build.
  - After change 14: 0.196 at 10 M (17.0 s against 84.9 s); after change 13 and without the checkpoint:
    0.221 (20.9 s against 94.3 s); after changes 11-12: 0.258 and 0.672 at 1 M; before them 0.746 at
    10 M and 0.994 at 1 M.
- What is left is work on two cores, not waiting (docs/decisions.md has the timeline): the models that
  follow the layer need ~5 CPU-s side by side, and dbt's own Python ~4 CPU-s a build. This benchmark's
  warehouse holds two nights, so a full refresh places only twice the payments the nightly places; with a
  month of payments kept it places thirty nights' and the ratio falls, but measured here it is what it
  is. Left to take, measured first: person keys as 32 bytes.

## Notes on dbt_vs_sql

- At 1 M participants dbt's fixed cost is about half its build: start-up and parse, ~0.1 s a node for 106
  nodes, and the incremental layer's bookkeeping on a full refresh (the queries that decide whether to
  rebuild, the stamps), none of which `psql -f` pays. From 1.53 (98 nodes, 2026-11-26) to 1.97 (106
  nodes) with the incremental participants layer, measured before dbt kept its parse from night to night
  (docs/decisions.md, change 10). After it, on the same 1 M warehouse (2026-11-27, `measure_dbt_build` alone,
  2 repeats): 1.481, 27.2 s against 18.7 s, of which start-up 3.0 s and parse 1.9 s. At 10 M the same
  comparison gave 0.97 (dbt's four threads overlap what `psql -f` runs one after another); it has not been
  measured there since.
- After change 13 (2026-11-27, afternoon, `make bench` on a quiet machine that ran the SQL twice as fast as
  the morning's): 1.595, 14.39 s against 9.05 s (repeats 1.674, 1.515), above the target. dbt's own cost did
  not shrink with the SQL: the interpreter and dbt's imports ~2.7 s before it logs a line, start-up 1.8 s
  and reading its saved parse 1.1 s (nothing parsed again), and ~50 ms a node for 107 nodes, among them a
  new connection for almost every node (115 opened: dbt-postgres closes a thread's connection after each
  node, and keeping them is not a setting it offers). The replay now runs with the session options dbt's
  sessions have (no parallel workers), as the same SQL should.
- After change 14 (2026-11-27, evening, each side after a checkpoint): 1.863, 12.79 s against 6.94 s. The
  SQL got faster (9.05 -> 6.94 s: participations counted by district, the layer's tables unlogged) and
  dbt's build with it (14.39 -> 12.79 s), by less: its fixed ~5.5 s (start-up, saved parse, ~50 ms a
  node) is the same, and weighs more the less SQL there is. At 10 M this comparison was 0.97.
- After change 15 (2026-11-27, night; shared buffers a quarter of the memory, which at 1 M holds everything
  either way): 1.905, 13.62 s against 7.2 s, the same within the noise. At 10 M the same night
  (`measure_dbt_build`, 2 repeats): **1.046**, 89.4 s against 86.2 s (repeats 1.14, 0.95; 108 nodes, 312
  statements): dbt's start-up 1.8 s and saved parse 1.0 s are small beside the SQL there, and its four
  threads overlap what `psql -f` runs one after another.
- Until change 17 (2026-11-27, night) the replay built none of dbt's indexes: dbt names each by a hash and
  creates it `if not exists`, and replayed right after the build every name was still taken by the index of
  the table being replaced, so PostgreSQL skipped it. The psql side did less work than dbt's (the ratios
  above are high by that much), and when the replay ran last it left the next night without indexes. Each
  replay now names the indexes afresh and builds them all.
  At 10 M after it (2026-11-28, the full run before this table's): 0.957, 87.36 s against 88.32 s (repeats
  1.084, 0.957, 0.912), 109 nodes and 318 statements: with the indexes built on both sides, still dbt's four
  threads against one `psql -f`. In this table's run (after change 19): 0.965, 82.17 s against 85.67 s
  (repeats 1.005, 0.965, 0.845).
"""


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
        ("next night end_to_end_s", f"{result['next_night']['end_to_end_s']} (as the nightly runs it)", ""),
    ]
    rows += [(f"peak_rss_mib: {task}", f"{mib} MiB", "flat in file size")
             for task, mib in result["peak_rss_mib"].items()]
    rows += [(f"loader peak_rss_mib: {size}", f"{mib} MiB", "flat in file size")
             for size, mib in result["loader_peak_rss_mib"].items()]
    lines = ["| key | value | target |", "|---|---|---|"] + [f"| {k} | {v} | {t} |" for k, v, t in rows]
    lines += ["", "Task seconds in the measured night (own run time, mapped instances summed): "
              + ", ".join(f"{task} {seconds}" for task, seconds in night["task_seconds"].items()) + "."]
    return lines


def write_report(result: dict, docs_dir: Path) -> tuple[Path, Path]:
    docs_dir.mkdir(parents=True, exist_ok=True)
    json_path = docs_dir / "benchmarks.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Benchmarks", "", f"Measured by `make bench` on {result['machine']['cores']} cores, "
             f"{result['machine']['memory_gib']} GiB; medians of interleaved repeats.", ""]
    lines += _table(result)
    lines += ["", LOADER_NOTES, INCREMENTAL_NOTES]
    md_path = docs_dir / "benchmarks.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
