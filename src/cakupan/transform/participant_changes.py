"""What changed in each newly loaded delivery since the branch's previous one (`raw.peserta_changes`).

A branch's snapshot changes a little from one night to the next. Found here, once per batch of deliveries,
those changes let the nightly dbt build rewrite only the participants that changed, instead of comparing every
current row with the participants layer (int_participant_changes; docs/decisions.md). The comparison is with the
branch's delivery of the latest earlier export date, and it is recorded in `raw.deliveries` in the same
transaction as the changes (`participants_compared_with`): dbt applies them only to a layer that holds exactly
that earlier delivery, and diffs the branch itself otherwise.

A delivery's rows are found through raw.peserta's BRIN index, which leaves the pages loaded since autovacuum
last ran unsummarised, so each lookup would read all of those, a cost growing with the square of the night
(docs/decisions.md, change 11). So once a batch, the loader first summarises the new
pages (one pass over them), then compares the batch's deliveries one pair at a time.
"""

from __future__ import annotations

import psycopg

# Every column of raw.peserta a number reads, besides the KPJ that keys the comparison.
COMPARED = ("nik_hash", "segmen", "kode_desa", "pekerjaan", "sumber_iuran", "tanggal_daftar", "status",
            "nik_district", "npp", "full_program", "npp_pemberi_bantuan")

_PAIRS = """
    CREATE TEMP TABLE compared ON COMMIT DROP AS
    SELECT delivered.delivery_id, previous.delivery_id AS previous_delivery_id
    FROM raw.deliveries delivered
    CROSS JOIN LATERAL (
        SELECT delivery_id FROM raw.deliveries earlier
        WHERE earlier.kode_cabang = delivered.kode_cabang AND earlier.export_date < delivered.export_date
        ORDER BY earlier.export_date DESC
        LIMIT 1
    ) previous
    WHERE delivered.delivery_id = ANY(%(delivery_ids)s) AND delivered.participants_compared_with IS NULL
"""


# One delivery pair at a time, so that a hash join holds one branch's rows, not a whole batch's (at 10 M
# participants a batch's did not fit in work_mem and spilled to disk).
_CHANGES = f"""
    INSERT INTO raw.peserta_changes (delivery_id, previous_delivery_id, kpj, change, previous_nik_hash,
                                     previous_status, previous_segmen, {", ".join(COMPARED)})
    SELECT compared.delivery_id, compared.previous_delivery_id, changed.*
    FROM compared
    CROSS JOIN LATERAL (
        SELECT coalesce(now.kpj, before.kpj),
               CASE WHEN before.kpj IS NULL THEN 'added' WHEN now.kpj IS NULL THEN 'removed' ELSE 'changed' END,
               before.nik_hash, before.status, before.segmen, {", ".join(f"now.{c}" for c in COMPARED)}
        FROM (SELECT * FROM raw.peserta WHERE delivery_id = compared.delivery_id) now
        FULL JOIN (SELECT * FROM raw.peserta WHERE delivery_id = compared.previous_delivery_id) before
            ON before.kpj = now.kpj
        WHERE ({", ".join(f"now.{c}" for c in COMPARED)})
            IS DISTINCT FROM ({", ".join(f"before.{c}" for c in COMPARED)})
    ) changed
"""

_MARK_COMPARED = """
    UPDATE raw.deliveries SET participants_compared_with = compared.previous_delivery_id
    FROM compared WHERE compared.delivery_id = raw.deliveries.delivery_id
"""


# A delivery's counts (raw.deliveries.participant_rows, active_participants, active_bpu_participants) are a
# property of its rows alone, so the counts of the delivery it was compared with plus what its changes add and
# take away give them exactly, whichever earlier delivery that was. A delivery compared with one whose counts
# are not yet known (an earlier delivery of the same batch) waits for it: the statement runs until it counts
# no more.
_COUNT_BY_CHANGES = """
    UPDATE raw.deliveries counted
    SET participant_rows = previous.participant_rows + moved.rows,
        active_participants = previous.active_participants + moved.active,
        active_bpu_participants = previous.active_bpu_participants + moved.active_bpu
    FROM raw.deliveries previous, (
        SELECT delivered.delivery_id,
               count(*) FILTER (WHERE change = 'added') - count(*) FILTER (WHERE change = 'removed') AS rows,
               count(*) FILTER (WHERE status = 'AKTIF')
                 - count(*) FILTER (WHERE previous_status = 'AKTIF') AS active,
               count(*) FILTER (WHERE status = 'AKTIF' AND segmen = 'BPU')
                 - count(*) FILTER (WHERE previous_status = 'AKTIF' AND previous_segmen = 'BPU') AS active_bpu
        FROM unnest(%(delivery_ids)s::bigint[]) AS delivered (delivery_id)
        LEFT JOIN raw.peserta_changes USING (delivery_id)
        GROUP BY delivered.delivery_id
    ) moved
    WHERE counted.delivery_id = moved.delivery_id AND counted.participant_rows IS NULL
      AND previous.delivery_id = counted.participants_compared_with AND previous.participant_rows IS NOT NULL
"""

# A branch's first delivery, and one compared with a delivery loaded before counts were recorded: all of them in
# one pass over their rows, not a count each. On a warehouse whose raw.peserta had no statistics yet (its first
# night) the planner read the whole table for each delivery (docs/decisions.md, change 28).
_COUNT_WHOLE = """
    WITH uncounted AS (
        SELECT delivery_id FROM raw.deliveries uncounted
        WHERE uncounted.delivery_id = ANY(%(delivery_ids)s) AND uncounted.participant_rows IS NULL
          AND NOT EXISTS (SELECT FROM raw.deliveries previous
                          WHERE previous.delivery_id = uncounted.participants_compared_with
                            AND (previous.participant_rows IS NOT NULL
                                 OR previous.delivery_id = ANY(%(delivery_ids)s)))
    ), rows_of AS (
        SELECT delivery_id, count(*) AS rows, count(*) FILTER (WHERE status = 'AKTIF') AS active,
               count(*) FILTER (WHERE status = 'AKTIF' AND segmen = 'BPU') AS active_bpu
        FROM raw.peserta WHERE delivery_id = ANY(ARRAY(SELECT delivery_id FROM uncounted))
        GROUP BY delivery_id
    )
    UPDATE raw.deliveries counted
    SET participant_rows = coalesce(rows_of.rows, 0), active_participants = coalesce(rows_of.active, 0),
        active_bpu_participants = coalesce(rows_of.active_bpu, 0)
    FROM uncounted LEFT JOIN rows_of USING (delivery_id)
    WHERE counted.delivery_id = uncounted.delivery_id
"""


def record_participant_changes(conn: psycopg.Connection, delivery_ids: list[int]) -> tuple[int, int]:
    """Compare each of `delivery_ids` not yet compared with the branch's previous delivery, and record the
    changes and each delivery's counts, in one transaction: (deliveries compared, change rows recorded). A
    branch's first delivery has nothing to compare with, and is counted whole. Safe to call again."""
    with conn.transaction():
        # Its lock on raw.peserta lasts until this commits: another batch's comparison waits that long (seconds),
        # loads go on (a COPY does not conflict with it), and an autovacuum of the table gives way.
        conn.execute("SELECT raw.summarize_new_peserta_ranges()")
        conn.execute(_PAIRS, {"delivery_ids": delivery_ids})
        conn.execute("ANALYZE compared")
        changes = conn.execute(_CHANGES).rowcount
        compared = conn.execute(_MARK_COMPARED).rowcount
        _record_counts(conn, delivery_ids)
    return compared, changes


def _record_counts(conn: psycopg.Connection, delivery_ids: list[int]) -> None:
    while True:
        counted = conn.execute(_COUNT_BY_CHANGES, {"delivery_ids": delivery_ids}).rowcount
        counted += conn.execute(_COUNT_WHOLE, {"delivery_ids": delivery_ids}).rowcount
        if counted == 0:
            return
