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
                                     {", ".join(COMPARED)})
    SELECT compared.delivery_id, compared.previous_delivery_id, changed.*
    FROM compared
    CROSS JOIN LATERAL (
        SELECT coalesce(now.kpj, before.kpj),
               CASE WHEN before.kpj IS NULL THEN 'added' WHEN now.kpj IS NULL THEN 'removed' ELSE 'changed' END,
               before.nik_hash, {", ".join(f"now.{c}" for c in COMPARED)}
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


def record_participant_changes(conn: psycopg.Connection, delivery_ids: list[int]) -> tuple[int, int]:
    """Compare each of `delivery_ids` not yet compared with the branch's previous delivery, and record the
    changes, in one transaction: (deliveries compared, change rows recorded). A branch's first delivery has
    nothing to compare with. Safe to call again."""
    with conn.transaction():
        # Its lock on raw.peserta lasts until this commits: another batch's comparison waits that long (seconds),
        # loads go on (a COPY does not conflict with it), and an autovacuum of the table gives way.
        conn.execute("SELECT raw.summarize_new_peserta_ranges()")
        conn.execute(_PAIRS, {"delivery_ids": delivery_ids})
        conn.execute("ANALYZE compared")
        changes = conn.execute(_CHANGES).rowcount
        compared = conn.execute(_MARK_COMPARED).rowcount
    return compared, changes
