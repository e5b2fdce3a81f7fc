"""Nights never overlap (contract branch-export-v1 section 7.7): a second night waits for the first or stops at
once saying that another night runs, and either way no published date is ever lost. Real `cakupan run`
processes (Airflow's dag.test, dbt, GX) for the nights; the lease and the publication's own checks directly."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from cakupan.orchestration.dag_run import run_nightly
from cakupan.platform import db
from cakupan.publish import night_lease, publication
from published_marts import MARTS
from small_night_figures import FIXTURE, assert_the_hand_worked_figures, expected

NINETEENTH, TWENTIETH = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
assert dt.date.fromisoformat(expected.SNAPSHOT_DATE) == TWENTIETH
# What `cakupan run` (or the DAG, in its log) says when another night holds the lease.
WAITING = "Waiting for another night to end"
REFUSED = "another night is running"


class Night:
    """`cakupan run --date D` in a process of its own, its output collected as it comes."""

    def __init__(self, snapshot_date: dt.date):
        self.snapshot_date = snapshot_date
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cakupan.cli", "run", "--date", snapshot_date.isoformat()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def said(self, text: str) -> bool:
        return text.lower() in self.output.lower()

    def wait_until_it_says(self, *texts: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in texts:
                if self.said(text):
                    return text
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.5)
        raise AssertionError(f"`cakupan run --date {self.snapshot_date}` never said any of {texts}:\n{self.output}")

    def finish(self, timeout: float = 600) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code


def dates_published(conn, tables=publication.DAILY_MARTS) -> dict[str, list[dt.date]]:
    return {table: [d for (d,) in conn.execute(f"SELECT DISTINCT snapshot_date FROM marts.{table} ORDER BY 1")]
            for table in tables}


def rows_of(conn, snapshot_date: dt.date) -> dict[str, str]:
    """A digest of every daily mart's rows of one date."""
    return {table: conn.execute(
        f"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f"FROM marts.{table} t WHERE snapshot_date = %s", (snapshot_date,)).fetchone()[0]
        for table in publication.DAILY_MARTS}


@pytest.fixture
def night(small_night, monkeypatch):

    monkeypatch.setenv("CAKUPAN_AWARD_RUBRIC", str(FIXTURE / "rubric.yml"))
    return small_night


# The lease itself.

def test_a_held_lease_makes_the_next_night_wait_and_a_silent_one_is_taken_over(loader):
    assert night_lease.current(loader) is None
    scheduled, other = night_lease.try_take(loader, run_id="scheduled__night-a", snapshot_date=NINETEENTH,
                                            holder="the scheduler")
    assert scheduled and other is None
    assert night_lease.current(loader).run_id == "scheduled__night-a"

    # A fresh lease: the next night does not get it, and waits for at most as long as it is told, then says why.
    refused, holder = night_lease.try_take(loader, run_id="manual__night-b", snapshot_date=TWENTIETH,
                                           holder="cakupan run")
    assert refused is None and holder.run_id == "scheduled__night-a" and not holder.abandoned
    with pytest.raises(night_lease.NightLeaseBusy, match="Another night is running: run scheduled__night-a for "
                                                          "2026-11-19 \\(the scheduler"):
        night_lease.take(loader, run_id="manual__night-b", snapshot_date=TWENTIETH, holder="cakupan run",
                         wait_at_most=dt.timedelta(seconds=3), sleep=lambda _: time.sleep(0.1))
    night_lease.beat(loader, scheduled.lease_id)  # its holder's tasks keep it

    # Silent for longer than the bound (killed, rebooted): the next night takes it over...
    loader.execute("UPDATE audit.night_lease SET heartbeat_at = now() - %s - interval '1 second'",
                   (night_lease.STALE_AFTER,))
    assert night_lease.current(loader).abandoned
    taken, abandoned = night_lease.try_take(loader, run_id="manual__night-b", snapshot_date=TWENTIETH,
                                            holder="cakupan run")
    assert taken and abandoned.run_id == "scheduled__night-a"
    # ...and the stalled night, if it wakes up, stops at its next task (and its release takes nothing away).
    with pytest.raises(night_lease.NightLeaseLost, match="now held by run manual__night-b for 2026-11-20"):
        night_lease.beat(loader, scheduled.lease_id)
    assert not night_lease.release(loader, scheduled.lease_id)
    assert night_lease.current(loader).lease_id == taken.lease_id
    assert night_lease.release(loader, taken.lease_id)
    assert night_lease.current(loader) is None


def test_the_lease_of_a_cakupan_run_whose_process_ended_is_taken_over_at_once(loader):
    """`cakupan run` runs every task in its own process: once that process is gone (killed with the warehouse,
    say), its night is over, and the next one need not wait for the lease to go silent."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = f"{socket.gethostname()} pid {int(ended.stdout)} (in-process)"
    alive = f"{socket.gethostname()} pid {os.getpid()} (in-process)"
    elsewhere = f"another-host pid {int(ended.stdout)} (in-process)"
    scheduler_task = f"{socket.gethostname()} pid {int(ended.stdout)} (task)"  # its night goes on in other tasks
    for holder, abandoned in ((gone, True), (alive, False), (elsewhere, False), (scheduler_task, False)):
        held, _ = night_lease.try_take(loader, run_id="manual__killed", snapshot_date=NINETEENTH, holder=holder)
        assert night_lease.current(loader).abandoned is abandoned, holder
        taken, before = night_lease.try_take(loader, run_id="manual__next", snapshot_date=TWENTIETH, holder="next")
        assert (taken is not None) is abandoned, holder
        night_lease.release(loader, (taken or held).lease_id)
    assert night_lease.current(loader) is None


# The publication's own checks, the last line of defence.

def _published_daily_marts(settings, dates: list[dt.date]) -> psycopg.Connection:
    """A transformer's connection to published marts holding rows for `dates` (two per date)."""
    transformer = db.connect(settings, "transformer")
    transformer.execute("CREATE SCHEMA marts")
    transformer.execute("CREATE TABLE marts.coverage_district (snapshot_date date, district_code text)")
    transformer.execute("CREATE TABLE marts.award_district (snapshot_date date, district_code text)")
    for day in dates:
        transformer.execute("INSERT INTO marts.coverage_district VALUES (%s, '13.73'), (%s, '13.06')", (day, day))
    transformer.execute("INSERT INTO marts.award_district VALUES (%s, '13.73')", (dates[-1],))
    return transformer


def test_publish_refuses_another_runs_candidate_a_lost_date_and_a_lost_lease(settings, empty_warehouse, loader):
    earlier = [dt.date(2026, 11, 10) + dt.timedelta(days=n) for n in range(3)]
    with _published_daily_marts(settings, earlier) as transformer:
        publication.prepare_candidate(transformer, TWENTIETH, "run-of-the-20th")
        transformer.execute(f"INSERT INTO {publication.CANDIDATE}.coverage_district VALUES (%s, '13.73')", (TWENTIETH,))
        # The award marts name the year's latest snapshot: that date moves each night and is not checked.
        transformer.execute(f"UPDATE {publication.CANDIDATE}.award_district SET snapshot_date = %s", (TWENTIETH,))

        with pytest.raises(publication.PublicationRefused, match="prepared for 2026-11-20 by run run-of-the-20th"):
            publication.publish(transformer, NINETEENTH, "run-of-the-19th")
        with pytest.raises(publication.PublicationRefused, match="not this night's"):
            publication.publish(transformer, TWENTIETH, "run-of-the-19th")

        transformer.execute(f"DELETE FROM {publication.CANDIDATE}.coverage_district WHERE snapshot_date = %s",
                            (earlier[1],))
        with pytest.raises(publication.PublicationRefused,
                           match="coverage_district: published dates missing from the candidate: 2026-11-11"):
            publication.publish(transformer, TWENTIETH, "run-of-the-20th")
        transformer.execute(f"INSERT INTO {publication.CANDIDATE}.coverage_district VALUES (%s, '13.73')",
                            (earlier[1],))
        with pytest.raises(publication.PublicationRefused, match=r"rows of other dates changed: 2026-11-11 "
                                                                 r"\(2 published, 1 in the candidate\)"):
            publication.publish(transformer, TWENTIETH, "run-of-the-20th")
        transformer.execute(f"INSERT INTO {publication.CANDIDATE}.coverage_district VALUES (%s, '13.06')",
                            (earlier[1],))

        # A night whose lease was taken over while it stalled publishes nothing, even its own candidate.
        stalled, _ = night_lease.try_take(loader, run_id="run-of-the-20th", snapshot_date=TWENTIETH, holder="a")
        loader.execute("UPDATE audit.night_lease SET heartbeat_at = now() - interval '1 day'")
        night_lease.try_take(loader, run_id="another-run", snapshot_date=NINETEENTH, holder="b")
        with pytest.raises(night_lease.NightLeaseLost):
            publication.publish(transformer, TWENTIETH, "run-of-the-20th", lease_id=stalled.lease_id)
        assert dates_published(empty_warehouse, ["coverage_district"])["coverage_district"] == earlier

        # Its own candidate, holding every published date, under its own lease: published.
        night_lease.release(loader, night_lease.current(loader).lease_id)
        own, _ = night_lease.try_take(loader, run_id="run-of-the-20th", snapshot_date=TWENTIETH, holder="a")
        publication.publish(transformer, TWENTIETH, "run-of-the-20th", lease_id=own.lease_id)
    assert dates_published(empty_warehouse, ["coverage_district"])["coverage_district"] == [*earlier, TWENTIETH]
    assert empty_warehouse.execute("SELECT snapshot_date, run_id FROM audit.publications").fetchall() == [
        (TWENTIETH, "run-of-the-20th")]


# Whole nights.

@pytest.mark.slow
def test_two_nights_started_together_both_end_well_and_lose_no_date(night, empty_warehouse):
    conn = empty_warehouse
    # The 19th is published first; then the 20th, and the 19th again (as a backfill would), 1.5 s apart.
    first = run_nightly(night, NINETEENTH, docs=False)
    assert first.succeeded, first.failure_summary()
    nineteenth = rows_of(conn, NINETEENTH)

    later = Night(TWENTIETH)
    time.sleep(1.5)
    earlier = Night(NINETEENTH)
    codes = {night.snapshot_date: night.finish() for night in (later, earlier)}
    outputs = "\n\n".join(f"--- cakupan run --date {n.snapshot_date}:\n{n.output}" for n in (later, earlier))
    print(outputs)  # shown with -s, and beside a failure
    # Both ended well: one waited for the other (or stopped at once, saying that another night runs).
    waited = [n for n in (later, earlier) if n.said(WAITING)]
    refused = [n for n in (later, earlier) if n.said(REFUSED) and not n.said(WAITING)]
    assert len(waited) + len(refused) == 1, outputs
    for n in waited:
        assert codes[n.snapshot_date] == 0, outputs
        other = ({later, earlier} - {n}).pop()
        assert f"for {other.snapshot_date}" in n.output.split(WAITING, 1)[1].splitlines()[0], outputs
    for n in refused:
        assert codes[n.snapshot_date] != 0, outputs
        assert run_nightly(night, n.snapshot_date, docs=False).succeeded  # once the other has ended
    assert all(code == 0 for day, code in codes.items() if day not in {n.snapshot_date for n in refused}), outputs

    # Every date published before is still there, the new one too, with the figures a night alone gives.
    assert dates_published(conn) == {table: [NINETEENTH, TWENTIETH] for table in publication.DAILY_MARTS}
    assert rows_of(conn, NINETEENTH) == nineteenth
    assert_the_hand_worked_figures(conn)  # the 20th's
    assert night_lease.current(conn) is None
    published = conn.execute("SELECT snapshot_date FROM audit.publications ORDER BY publication_id").fetchall()
    assert sorted({d for (d,) in published}) == [NINETEENTH, TWENTIETH]
    assert all(conn.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0] > 0 for table in MARTS)


@pytest.mark.slow
def test_a_manual_night_waits_for_a_scheduled_one_then_runs(night, empty_warehouse, loader):
    conn = empty_warehouse
    scheduled, _ = night_lease.try_take(loader, run_id="scheduled__2026-11-20T18:00:00+00:00",
                                        snapshot_date=dt.date(2026, 11, 21), holder="the scheduler (this test)")
    manual = Night(TWENTIETH)
    said = manual.wait_until_it_says(WAITING, REFUSED)
    print(manual.output)  # shown with -s, and beside a failure
    assert "scheduled__2026-11-20T18:00:00+00:00" in manual.output and "2026-11-21" in manual.output, manual.output
    # While it waits, it has read and written nothing.
    assert conn.execute("SELECT count(*) FROM audit.file_loads").fetchone() == (0,)
    if said == WAITING:
        assert manual.process.poll() is None
    night_lease.release(loader, scheduled.lease_id)  # the scheduled night ends
    if said == WAITING:
        assert manual.finish() == 0, manual.output
    else:
        assert manual.finish() != 0
        assert Night(TWENTIETH).finish() == 0
    assert_the_hand_worked_figures(conn)  # the 20th's
    assert night_lease.current(conn) is None
