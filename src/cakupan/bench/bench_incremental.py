"""incremental_vs_full for `make bench`: the nightly's dbt build on a night when a share of participants
changed (`cakupan generate --next-night`), as the nightly runs it, against the same build with
`--full-refresh`, side by side.

Incremental models build only what the night can change: the participants layer the rows that differ from
the snapshots it was last built from (int_participant_changes), int_contributions_by_export_date the payments
from the new deliveries' export date on; the daily marts replace only the night's date in either case. To
time the nightly build more than once, each incremental repeat first builds the night before (not timed),
takes the night's payments out of the counts and marks the night's deliveries as just through the raw gate,
so that the build sees exactly what it saw that night.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable

from cakupan.bench.bench_dbt import marts_fingerprint, prepare_build
from cakupan.platform import db
from cakupan.settings import Settings
from cakupan.transform.nightly import build_candidate_marts


def _mark_new(settings: Settings, snapshot_date: dt.date) -> int:
    with db.connect(settings, "setup") as conn:
        return conn.execute("UPDATE raw.deliveries SET raw_gate_passed_at = clock_timestamp() WHERE export_date = %s",
                            (snapshot_date,)).rowcount


def _unplace_the_nights_payments(settings: Settings, snapshot_date: dt.date) -> None:
    """The night's payments as they were before the night ran: not counted yet. Otherwise a repeat would first
    delete what the measured night counted, work no night does."""
    with db.connect(settings, "setup") as conn:
        conn.execute("DELETE FROM intermediate.int_contributions_by_export_date WHERE export_date >= %s",
                     (snapshot_date,))
        conn.execute("VACUUM ANALYZE intermediate.int_contributions_by_export_date")


def _timed_build(settings: Settings, snapshot_date: dt.date, full_refresh: bool) -> float:
    prepare_build(settings, snapshot_date)
    started = time.perf_counter()
    build_candidate_marts(settings, snapshot_date, full_refresh, dbt_log=lambda _: None)
    return time.perf_counter() - started


def measure_incremental_vs_full(settings: Settings, snapshot_date: dt.date, repeats: int = 3,
                                progress: Callable[[str], None] = print) -> dict:
    """The nightly build of `snapshot_date` after the night before / its full refresh: the median of per-repeat
    ratios, alternating which goes first. Each repeat also checks that both builds made the same marts. The
    warehouse must hold both nights loaded and through the raw gate."""
    night_before = snapshot_date - dt.timedelta(days=1)
    if not _mark_new(settings, snapshot_date):
        raise ValueError(f"No delivery of {snapshot_date} is loaded: run that night before measuring.")
    progress("  warm-up: one full-refresh build, not timed ...")
    _timed_build(settings, snapshot_date, full_refresh=True)
    ratios, incremental_times, full_times = [], [], []
    for repeat in range(1, repeats + 1):
        seconds, marts = {}, {}
        for full_refresh in ((True, False) if repeat % 2 else (False, True)):
            if not full_refresh:
                _timed_build(settings, night_before, full_refresh=False)
                _unplace_the_nights_payments(settings, snapshot_date)
                _mark_new(settings, snapshot_date)
            seconds[full_refresh] = _timed_build(settings, snapshot_date, full_refresh)
            # The daily marts' rows of the night only: a full refresh keeps no earlier date of them.
            marts[full_refresh] = marts_fingerprint(settings, snapshot_date)
        if marts[False] != marts[True]:
            differing = sorted(m for m in marts[True] if marts[True][m] != marts[False].get(m))
            raise AssertionError(f"the nightly build's marts differ from the full refresh's: {differing}")
        ratios.append(seconds[False] / seconds[True])
        incremental_times.append(seconds[False])
        full_times.append(seconds[True])
        progress(f"  repeat {repeat}/{repeats}: nightly (incremental) {seconds[False]:.1f} s, full refresh "
                 f"{seconds[True]:.1f} s, ratio {ratios[-1]:.2f}")
    return {
        "incremental_vs_full": round(statistics.median(ratios), 3),
        "incremental_seconds": round(statistics.median(incremental_times), 2),
        "full_refresh_seconds": round(statistics.median(full_times), 2),
        "repeats": repeats,
        "ratios": [round(r, 3) for r in ratios],
    }
