"""The loader's record of what changed in each delivery since the branch's previous one (raw.peserta_changes)."""

from __future__ import annotations

import os

from cakupan.ingest import landing
from cakupan.ingest.load import load_delivery
from cakupan.ingest.pseudonymise import Pseudonymiser
from cakupan.transform.participant_changes import record_participant_changes
from delivery_builder import peserta, register_branches, write_delivery

PSEUDONYMISER = Pseudonymiser(os.environ.get("CAKUPAN_PII_KEY"))


def load(conn, root, branch, date, rows):
    register_branches(conn, branch)
    return load_delivery(conn, landing.delivery_at(write_delivery(root, branch, date, rows)), PSEUDONYMISER,
                         progress=lambda _: None).delivery_id


def changes(conn):
    return conn.execute(
        "SELECT delivery_id, previous_delivery_id, kpj, change, previous_nik_hash IS NOT NULL, status"
        " FROM raw.peserta_changes ORDER BY delivery_id, kpj").fetchall()


def test_each_delivery_records_what_changed_since_the_branchs_previous_one(empty_warehouse, tmp_path):
    conn = empty_warehouse
    kept, moved, gone = peserta(), peserta(kpj="10000000002"), peserta(kpj="10000000003", nik="1373020101900003")
    first = load(conn, tmp_path, "SAWAHLUNTO", "2026-11-20", [kept, moved, gone])
    other_branch = load(conn, tmp_path, "SOLOK", "2026-11-20", [peserta(kpj="10000000009")])
    later = [kept, {**moved, "status": "NONAKTIF", "jenis_kelamin": "P"}, peserta(kpj="10000000004")]
    second = load(conn, tmp_path, "SAWAHLUNTO", "2026-11-21", later)
    same = load(conn, tmp_path, "SOLOK", "2026-11-21", [peserta(kpj="10000000009")])

    assert conn.execute("SELECT count(*) FROM raw.peserta").fetchone() == (8,)
    assert record_participant_changes(conn, [first, other_branch, second, same]) == (2, 3)
    compared = dict(conn.execute("SELECT delivery_id, participants_compared_with FROM raw.deliveries").fetchall())
    assert compared == {first: None, other_branch: None, second: first, same: other_branch}
    # Sex is checked but not stored, so a change to it alone is no change to the numbers; SOLOK's unchanged
    # snapshot records no change, and is still marked as compared.
    assert changes(conn) == [(second, first, "10000000002", "changed", True, "NONAKTIF"),
                             (second, first, "10000000003", "removed", True, None),
                             (second, first, "10000000004", "added", False, "AKTIF")]
    gone_person = conn.execute("SELECT previous_nik_hash FROM raw.peserta_changes WHERE change = 'removed'").fetchone()
    assert gone_person == (PSEUDONYMISER.pseudonym("1373020101900003"),)

    assert record_participant_changes(conn, [second, same]) == (0, 0)  # a retried batch records nothing twice

    # A corrected delivery of the same date replaces the second, its changes with it.
    corrected = load(conn, tmp_path, "SAWAHLUNTO", "2026-11-21", [kept, moved])
    assert record_participant_changes(conn, [corrected]) == (1, 1)
    assert changes(conn) == [(corrected, first, "10000000003", "removed", True, None)]
