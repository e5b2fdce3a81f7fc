"""Each delivery's participant rows, active and active BPU participants, recorded as it is loaded from the
counts of the delivery it was compared with plus its changes (docs/decisions.md, change 27), equal the counts
of its rows, whatever the deliveries hold and however the loads were batched. Real PostgreSQL."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from cakupan.transform.participant_changes import record_participant_changes
from raw_rows import empty_raw, gate, insert_delivery, insert_peserta

D = dt.date(2026, 11, 20)
STATUSES, SEGMENTS = ["AKTIF", "NONAKTIF"], ["BPU", "PU", "JAKON"]

RECORDED = "SELECT delivery_id, participant_rows, active_participants, active_bpu_participants FROM raw.deliveries"
COUNTED = """
    SELECT d.delivery_id, count(p.kpj), count(*) FILTER (WHERE p.status = 'AKTIF'),
           count(*) FILTER (WHERE p.status = 'AKTIF' AND p.segmen = 'BPU')
    FROM raw.deliveries d LEFT JOIN raw.peserta p USING (delivery_id) GROUP BY d.delivery_id"""


def recorded(conn) -> dict:
    return {row[0]: row[1:] for row in conn.execute(RECORDED)}


def counted(conn) -> dict:
    return {row[0]: row[1:] for row in conn.execute(COUNTED)}


def _load(conn, delivery_id: int, export_date: dt.date, rows: dict[str, tuple[str, str]]) -> None:
    insert_delivery(conn, delivery_id, export_date)
    for number, (kpj, (status, segment)) in enumerate(sorted(rows.items()), start=1):
        insert_peserta(conn, delivery_id, row_number=number, kpj=kpj, status=status, segmen=segment)


@st.composite
def snapshots(draw):
    """A branch's snapshots on three nights: each keeps, changes or removes the previous one's participants
    and adds some."""
    attributes = st.tuples(st.sampled_from(STATUSES), st.sampled_from(SEGMENTS))
    nights, rows = [], {}
    for night in range(3):
        rows = {kpj: draw(attributes) if draw(st.booleans()) else value for kpj, value in rows.items()
                if draw(st.integers(0, 4))}
        rows |= {f"{night + 1}{number:010d}": draw(attributes) for number in range(draw(st.integers(0, 4)))}
        nights.append(dict(rows))
    return nights


def test_recorded_counts_equal_the_counts_of_the_rows(empty_warehouse):
    conn = empty_warehouse

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(snapshots(), st.sampled_from(["one batch", "a batch a night", "the last two together"]))
    def check(nights, batching):
        empty_raw(conn)
        ids = [1, 2, 3]
        for delivery_id, rows in zip(ids, nights, strict=True):
            _load(conn, delivery_id, D + dt.timedelta(days=delivery_id), rows)
        batches = {"one batch": [ids], "a batch a night": [[1], [2], [3]],
                   "the last two together": [[1], [2, 3]]}[batching]
        for batch in batches:
            record_participant_changes(conn, batch)
        assert recorded(conn) == counted(conn)

    check()


def test_a_delivery_compared_with_one_loaded_before_counts_were_recorded_is_counted_whole(empty_warehouse):
    conn = empty_warehouse
    _load(conn, 1, D, {"10000000001": ("AKTIF", "BPU"), "10000000002": ("AKTIF", "PU")})
    record_participant_changes(conn, [1])
    conn.execute("UPDATE raw.deliveries SET participant_rows = NULL, active_participants = NULL, "
                 "active_bpu_participants = NULL")  # as a warehouse made before the counts were
    _load(conn, 2, D + dt.timedelta(days=1), {"10000000001": ("NONAKTIF", "BPU"), "10000000003": ("AKTIF", "BPU")})
    record_participant_changes(conn, [2])
    assert recorded(conn) == {1: (None, None, None), 2: (2, 1, 1)}

    record_participant_changes(conn, [2])  # a retried batch counts nothing again
    assert recorded(conn)[2] == (2, 1, 1)


def test_a_first_night_is_counted_in_one_read_of_raw_whatever_its_deliveries(empty_warehouse):
    """Each branch's first delivery is counted whole, and a first night has hundreds: they are counted together.
    Counted one by one, a warehouse without statistics on raw.peserta yet (its first night) read the whole table
    for each delivery: 105 s a load batch at 10 M participants (docs/decisions.md, change 28)."""
    conn = empty_warehouse
    whole_reads = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'raw.peserta'::regclass"
    for deliveries in (2, 6):
        empty_raw(conn)
        ids = list(range(1, deliveries + 1))
        for delivery_id in ids:
            insert_delivery(conn, delivery_id, D, branch=f"CABANG_{delivery_id}")
            for number in range(1, delivery_id + 1):
                insert_peserta(conn, delivery_id, row_number=number, kpj=f"{delivery_id}{number:010d}",
                               status=STATUSES[number % 2])
        with conn.transaction():
            (before,) = conn.execute(whole_reads).fetchone()
            record_participant_changes(conn, ids)
            (after,) = conn.execute(whole_reads).fetchone()
        assert recorded(conn) == counted(conn)
        assert after - before <= 1, f"{deliveries} first deliveries read raw.peserta whole {after - before} times"


def test_the_raw_gate_compares_recorded_counts_and_reconciles_them_with_raw(settings, loader, tmp_path):
    for delivery_id, export_date in ((1, D - dt.timedelta(days=1)), (2, D)):
        insert_delivery(loader, delivery_id, export_date, gate_passed=delivery_id == 1)
        for number in range(1, 121):
            insert_peserta(loader, delivery_id, row_number=number, kpj=f"1{number:010d}", nik_hash=f"{number:064x}")
        record_participant_changes(loader, [delivery_id])
    loader.execute("INSERT INTO audit.file_loads (delivery_id, kode_cabang, export_date, file_name, status, "
                   "rows_read, rows_loaded, manifest_rows, delivery_fingerprint) "
                   "VALUES (2, 'SAWAHLUNTO', %s, 'peserta.csv', 'loaded', 120, 120, 120, 'tonight')", (D,))
    assert recorded(loader) == counted(loader) == {1: (120, 120, 120), 2: (120, 120, 120)}
    assert gate(settings, tmp_path).failed_errors == []

    # Counts recorded wrong, as changes that missed a row would make them: the accounting says so.
    loader.execute("UPDATE raw.deliveries SET participant_rows = 121 WHERE delivery_id = 2")
    (failure,) = gate(settings, tmp_path).failed_errors
    assert failure.startswith("raw_accounting.rows_in_raw") and "dicatat saat pemuatan" in failure, failure

    # The distribution check reads the recorded counts: a previous delivery recorded with 1,000 active
    # participants makes tonight's 120 a collapse.
    loader.execute("UPDATE raw.deliveries SET participant_rows = 120 WHERE delivery_id = 2; "
                   "UPDATE raw.deliveries SET active_participants = 1000 WHERE delivery_id = 1")
    (failure,) = gate(settings, tmp_path).failed_errors
    assert failure.startswith("raw_distribution.active_change"), failure
