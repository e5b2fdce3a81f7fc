"""Publishing never waits for readers, and readers never wait for publishing (docs/bi.md, "Timeouts"): a real
night published while BI sessions read the marts, one of them inside a transaction that runs a long query all
night, another left open in a repeatable-read transaction, a third querying over and over."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest

from cakupan.orchestration.dag_run import run_nightly
from cakupan.platform import db
from cakupan.platform.warehouse import warehouse_url
from cakupan.publish import publication
from cakupan.settings import load_settings

NINETEENTH, TWENTIETH = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
# The bounds of the issue that asked for it: a publication delayed by a second or two at most, and no BI query
# held up for more than a second.
PUBLICATION_BOUND_SECONDS = 2.0
BI_WAIT_BOUND_SECONDS = 1.0
# One statement, two marts: the night it shows, and whether the provinces' total is the districts' total.
NATIONAL = """
    SELECT p.snapshot_date, p.covered, d.covered
    FROM (SELECT snapshot_date, sum(covered_persons) AS covered FROM marts.coverage_province_latest GROUP BY 1) AS p
    JOIN (SELECT snapshot_date, sum(covered_persons) AS covered FROM marts.coverage_district_latest GROUP BY 1) AS d
        USING (snapshot_date)
"""


class Poller(threading.Thread):
    """A BI session asking NATIONAL again and again, timing every answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.answers = url, threading.Event(), []

    def run(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                answer = conn.execute(NATIONAL).fetchone()
                self.answers.append((time.monotonic() - started, answer))
                time.sleep(0.05)


def test_a_night_publishes_beside_long_readers_and_keeps_them_waiting_for_nothing(night):
    settings = load_settings()
    first = run_nightly(settings, NINETEENTH, docs=False)
    assert first.succeeded, first.failure_summary()
    bi = warehouse_url(settings, "bi")

    with psycopg.connect(bi) as repeatable, psycopg.connect(bi) as long_reader, \
            psycopg.connect(warehouse_url(settings, "admin"), autocommit=True) as admin:
        repeatable.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        before = repeatable.execute(NATIONAL).fetchone()
        assert before[0] == NINETEENTH and before[1] == before[2] > 0

        # Every published mart read in one transaction that then runs a query as long as the night.
        for table in publication.DAILY_MARTS + ("award_province", "contributions_district_month"):
            long_reader.execute(f"SELECT count(*) FROM marts.{table}")
        reader_pid = long_reader.info.backend_pid
        ended: list[BaseException] = []
        sleeper = threading.Thread(target=_sleep_until_cancelled, args=(long_reader, ended), daemon=True)
        sleeper.start()
        poller = Poller(bi)
        poller.start()

        second = run_nightly(settings, TWENTIETH, docs=False)
        poller.stop.set()
        poller.join(timeout=30)
        reader_still_running = admin.execute("SELECT state FROM pg_stat_activity WHERE pid = %s",
                                             (reader_pid,)).fetchone()
        admin.execute("SELECT pg_cancel_backend(%s)", (reader_pid,))
        sleeper.join(timeout=30)

        assert second.succeeded, second.failure_summary()
        # The long query held its locks through the publication, until cancelled.
        assert reader_still_running == ("active",)
        assert [type(error) for error in ended] == [psycopg.errors.QueryCanceled]
        publishing = second.task_seconds["publish_marts"]
        waits = [seconds for seconds, _ in poller.answers]
        print(f"\npublish_marts: {publishing:.2f} s beside the readers ({first.task_seconds['publish_marts']:.2f} s "
              f"for the first night, alone); {len(waits)} BI queries during the night, the slowest "
              f"{max(waits):.3f} s, the median {sorted(waits)[len(waits) // 2]:.3f} s")
        assert publishing < PUBLICATION_BOUND_SECONDS
        assert max(waits) < BI_WAIT_BOUND_SECONDS

        # Each answer was one night or the other, whole: the provinces always add up to the districts.
        after = repeatable.execute(NATIONAL).fetchone()  # the open transaction still sees its night, whole
        assert after == before
        repeatable.commit()
        newest = repeatable.execute(NATIONAL).fetchone()
        assert newest[0] == TWENTIETH and newest[1] == newest[2] and newest != before
        assert {answer for _, answer in poller.answers} <= {before, newest}
        assert poller.answers[0][1] == before and poller.answers[-1][1] == newest


def _sleep_until_cancelled(conn: psycopg.Connection, ended: list[BaseException]) -> None:
    try:
        conn.execute("SELECT pg_sleep(600)")
    except psycopg.Error as error:
        ended.append(error)


def test_a_mart_whose_columns_change_waits_briefly_for_its_readers_then_is_made_again(settings, empty_warehouse):
    """Only a new version of Cakupan changes a mart's columns; that needs the readers of its table gone."""
    with db.connect(settings, "transformer") as transformer:
        publication.prepare_candidate(transformer, TWENTIETH)
        transformer.execute("CREATE TABLE marts_candidate.coverage_district (snapshot_date date, district_code text)")
        transformer.execute("COMMENT ON COLUMN marts_candidate.coverage_district.district_code IS 'Kode kabupaten'")
        transformer.execute("INSERT INTO marts_candidate.coverage_district VALUES (%s, '13.73')", (TWENTIETH,))
        publication.publish(transformer, TWENTIETH)

        publication.prepare_candidate(transformer, TWENTIETH)
        transformer.execute("ALTER TABLE marts_candidate.coverage_district ADD COLUMN district_name text")
        transformer.execute("UPDATE marts_candidate.coverage_district SET district_name = 'Kota Sawahlunto'")
        with psycopg.connect(warehouse_url(settings, "bi")) as bi:
            bi.execute("SELECT * FROM marts.coverage_district_latest").fetchall()  # its transaction stays open
            started = time.monotonic()
            with pytest.raises(publication.PublicationRefused, match=r"columns of marts.coverage_district.*"
                                                                     r"still read it: pid \d+ \(cakupan_bi"):
                publication.publish(transformer, TWENTIETH)
            waited = time.monotonic() - started
        assert waited < 10
        publication.publish(transformer, TWENTIETH)  # its reader gone

    latest = empty_warehouse.execute("SELECT * FROM marts.coverage_district_latest").fetchall()
    assert latest == [(TWENTIETH, "13.73", "Kota Sawahlunto")]
    assert empty_warehouse.execute(
        "SELECT col_description('marts.coverage_district_latest'::regclass, 2), "
        "has_table_privilege('cakupan_bi', 'marts.coverage_district_latest', 'SELECT')").fetchone() == (
        "Kode kabupaten", True)
