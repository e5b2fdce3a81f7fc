"""The raw gate checks a delivery by its changes when its previous delivery passed the same row checks, and
that finds exactly the rows checking it whole would (docs/decisions.md, change 26): every row check reads one
row's columns, all of them compared by raw.peserta_changes, so an unchanged row passes as it passed before.

The proof's premises are checked on the suite as committed; its conclusion on random deliveries (hypothesis),
each check's failing rows compared between the two ways; and the real GX checkpoint gives the same verdict
both ways. Real PostgreSQL and GX."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from cakupan.gates.gate_log import mark_raw_gate_passed, raw_gate_of_night, run_gx_gate
from cakupan.gates.quality import ROW_CHECKS_SUITE, row_checks_digest
from cakupan.transform.participant_changes import COMPARED, record_participant_changes
from raw_rows import empty_raw, gate, insert_delivery, insert_peserta

D = dt.date(2026, 11, 20)
PREVIOUS, DELIVERED = 1, 2
# Each row check as the rows it fails, in SQL (GX's own metrics leave NULLs to the not-null check).
FAILING_ROWS = {
    "expect_column_values_to_not_be_null": "{column} IS NULL",
    "expect_column_values_to_match_regex": "{column} IS NOT NULL AND NOT {column} ~ %(regex)s",
    "expect_column_values_to_be_in_set": "{column} IS NOT NULL AND NOT {column} = ANY(%(value_set)s)",
}
# A value passing and a value failing each check (the value sets come from the suite itself).
REGEX_VALUES = {
    "kpj": (["10000000001"], ["1000000000", "1000000000X"]),
    "nik_hash": (["a" * 64, "b" * 64], ["3273120000000000"]),
    "kode_desa": (["13.73.02.2005", "13.73.01.1001"], ["13-73-02-2005"]),
}
INVALID_IN_SET = {"segmen": "ASN", "status": "MATI", "pekerjaan": "PNS", "sumber_iuran": "HIBAH"}


def row_checks(settings) -> list[dict]:
    suite = settings.expectations_dir / "expectations" / f"{ROW_CHECKS_SUITE}.json"
    return json.loads(suite.read_text())["expectations"]


def test_every_row_check_reads_one_row_and_only_compared_columns(settings):
    """The premises: a check of one row, on all of its rows (no `mostly`), of a column the changes compare."""
    for check in row_checks(settings):
        assert check["type"] in FAILING_ROWS, f"{check['type']} is not a row check: give it a suite of its own"
        assert "mostly" not in check["kwargs"], "a share of failing rows depends on the rows checked"
        assert check["kwargs"]["column"] in {"kpj", *COMPARED}, check["kwargs"]["column"]


def _values(settings) -> dict[str, tuple[list[str], list[str]]]:
    """Per checked column: values its checks pass, values they fail."""
    values = dict(REGEX_VALUES)
    for check in row_checks(settings):
        if check["type"] == "expect_column_values_to_be_in_set":
            column = check["kwargs"]["column"]
            values[column] = (check["kwargs"]["value_set"], [INVALID_IN_SET[column]])
    return values


def _failing(conn, relation: str, check: dict) -> list[tuple]:
    column = check["kwargs"]["column"]
    condition = FAILING_ROWS[check["type"]].format(column=column)
    return sorted(conn.execute(
        f"SELECT kpj, {column} FROM {relation} WHERE delivery_id = %(delivery)s AND {condition}",
        {**check["kwargs"], "delivery": DELIVERED}).fetchall())


@st.composite
def two_deliveries(draw, values: dict):
    """A previous delivery whose rows all pass, and the next: rows kept, changed (to any value, passing or
    not), removed, and added."""
    def row(kpj: str, valid: bool) -> dict:
        return {column: draw(st.sampled_from(good if valid else good + bad)) for column, (good, bad) in
                values.items() if column != "kpj"} | {"kpj": kpj}

    previous = [row(f"1{number:010d}", valid=True) for number in range(draw(st.integers(0, 6)))]
    delivered = []
    for kept in previous:
        fate = draw(st.sampled_from(["kept", "changed", "removed"]))
        if fate == "kept":
            delivered.append(dict(kept))
        elif fate == "changed":
            column = draw(st.sampled_from(sorted(set(values) - {"kpj"})))
            delivered.append(kept | {column: draw(st.sampled_from(values[column][0] + values[column][1]))})
    for number in range(draw(st.integers(0, 3))):
        kpj = draw(st.sampled_from([f"2{number:010d}", *values["kpj"][1]]))
        delivered.append(row(kpj, valid=False))
    return previous, delivered


def test_checking_the_changes_finds_the_rows_checking_everything_finds(settings, empty_warehouse):
    conn = empty_warehouse
    checks, values = row_checks(settings), _values(settings)
    digest = row_checks_digest(settings.expectations_dir)

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(two_deliveries(values))
    def check(deliveries):
        previous, delivered = deliveries
        empty_raw(conn)
        insert_delivery(conn, PREVIOUS, D - dt.timedelta(days=1), gate_passed=True, row_checks=digest)
        insert_delivery(conn, DELIVERED, D)
        for delivery_id, rows in ((PREVIOUS, previous), (DELIVERED, delivered)):
            for number, row in enumerate(rows, start=1):
                insert_peserta(conn, delivery_id, row_number=number, **row)
        record_participant_changes(conn, [DELIVERED])
        with raw_gate_of_night(conn, D, row_checks=digest):
            assert conn.execute("SELECT array_agg(delivery_id) FROM raw.deliveries_checked_by_changes"
                                ).fetchone()[0] == [DELIVERED]
            for row_check in checks:
                assert _failing(conn, "raw.peserta_awaiting_raw_gate", row_check) == _failing(
                    conn, "raw.peserta", row_check), row_check["description"]

    check()


def test_the_gate_says_the_same_checking_changes_or_everything(settings, loader, tmp_path):
    digest = row_checks_digest(settings.expectations_dir)
    insert_delivery(loader, PREVIOUS, D - dt.timedelta(days=1), gate_passed=True, row_checks=digest)
    insert_delivery(loader, DELIVERED, D)
    for delivery_id in (PREVIOUS, DELIVERED):
        for number in range(1, 6):
            insert_peserta(loader, delivery_id, row_number=number, kpj=f"1{number:010d}",
                           nik_hash=f"{number:064x}")
    # Tonight: one participant moved to a segment the contract does not know, one added in a malformed village.
    loader.execute("UPDATE raw.peserta SET segmen = 'ASN' WHERE delivery_id = %s AND row_number = 2", (DELIVERED,))
    insert_peserta(loader, DELIVERED, row_number=6, kpj="10000000009", nik_hash="9" * 64, kode_desa="13-73")
    record_participant_changes(loader, [DELIVERED])

    verdicts = {}
    for way, digest_of_night in (("changes", digest), ("everything", None)):
        with raw_gate_of_night(loader, D, row_checks=digest_of_night):
            verdicts[way] = gate(settings, tmp_path)
            verdicts[way, "rows"] = loader.execute("SELECT count(*) FROM raw.peserta_awaiting_raw_gate").fetchone()
    assert verdicts["changes", "rows"] == (2,) and verdicts["everything", "rows"] == (6,)
    assert not verdicts["changes"].success
    assert verdicts["changes"].failed_errors == verdicts["everything"].failed_errors
    row_failures = [f for f in verdicts["changes"].failed_errors if f.startswith("raw_peserta.")]
    assert [f.split(":")[0] for f in row_failures] == ["raw_peserta.segmen", "raw_peserta.kode_desa"]
    assert all("(1 rows break it)" in failure for failure in row_failures)


def test_a_delivery_is_checked_whole_unless_its_previous_passed_the_same_row_checks(settings, loader):
    digest = row_checks_digest(settings.expectations_dir)
    for delivery_id, previous_passed_under in ((11, None), (21, "an older suite's digest"), (31, digest)):
        branch = f"BRANCH{delivery_id}"
        insert_delivery(loader, delivery_id, D - dt.timedelta(days=1), branch,
                        gate_passed=previous_passed_under is not None, row_checks=previous_passed_under)
        insert_delivery(loader, delivery_id + 1, D, branch)
        for day in (delivery_id, delivery_id + 1):
            insert_peserta(loader, day)
    record_participant_changes(loader, [12, 22, 32])
    with raw_gate_of_night(loader, D, row_checks=digest):
        by_changes = loader.execute("SELECT array_agg(delivery_id) FROM raw.deliveries_checked_by_changes")
        assert by_changes.fetchone()[0] == [32]
    # Outside a night's gate (a checkpoint run by hand, the benchmarks), every delivery is checked whole.
    assert loader.execute("SELECT count(*) FROM raw.deliveries_checked_by_changes").fetchone() == (0,)
    # Passing the gate records the row checks it passed under.
    mark_raw_gate_passed(loader, [12], digest)
    assert loader.execute("SELECT raw_gate_row_checks FROM raw.deliveries WHERE delivery_id = 12").fetchone() == (
        digest,)


def test_checks_of_a_whole_delivery_still_read_all_of_it(settings, loader, tmp_path):
    """How many distinct NIKs, and whether the participants file left a row at all, are not row checks: a
    delivery checked by its changes still gets them on every row."""
    digest = row_checks_digest(settings.expectations_dir)
    insert_delivery(loader, PREVIOUS, D - dt.timedelta(days=1), gate_passed=True, row_checks=digest)
    insert_delivery(loader, DELIVERED, D)
    for delivery_id in (PREVIOUS, DELIVERED):  # ten KPJs of one person, unchanged: a warning both nights
        for number in range(1, 11):
            insert_peserta(loader, delivery_id, row_number=number, kpj=f"1{number:010d}")
    record_participant_changes(loader, [DELIVERED])
    with raw_gate_of_night(loader, D, row_checks=digest):
        assert loader.execute("SELECT count(*) FROM raw.peserta_awaiting_raw_gate").fetchone() == (0,)
        outcome = gate(settings, tmp_path)
    assert outcome.success and "raw_peserta_nik.nik_hash" in [w.split(":")[0] for w in outcome.failed_warnings]

    # A participants file recorded as loaded that left no row in raw.
    loader.execute("INSERT INTO audit.file_loads (delivery_id, kode_cabang, export_date, file_name, status, "
                   "delivery_fingerprint, manifest_rows) VALUES (%s, 'SAWAHLUNTO', %s, 'peserta.csv', 'loaded', "
                   "'f', 0)", (DELIVERED, D))
    loader.execute("DELETE FROM raw.peserta WHERE delivery_id = %s", (DELIVERED,))
    with raw_gate_of_night(loader, D, row_checks=digest):
        outcome = gate(settings, tmp_path)
    assert not outcome.success
    empty = "raw_accounting.rows_in_raw: Setiap ekspor memuat minimal satu peserta"
    assert any(f.startswith(empty) for f in outcome.failed_errors), outcome.failed_errors


def test_the_nights_gate_says_how_it_checked_and_records_the_row_checks(settings, loader):
    digest = row_checks_digest(settings.expectations_dir)
    insert_delivery(loader, PREVIOUS, D - dt.timedelta(days=1), gate_passed=True, row_checks=digest)
    insert_delivery(loader, DELIVERED, D)
    for delivery_id in (PREVIOUS, DELIVERED):
        insert_peserta(loader, delivery_id)
    record_participant_changes(loader, [DELIVERED])

    outcome = run_gx_gate(settings, "raw", D, "run-of-d")
    assert outcome.success, outcome.failed_errors
    assert outcome.note.startswith("1 of 1 deliveries checked by the rows they changed")
    assert loader.execute("SELECT raw_gate_passed_at IS NOT NULL, raw_gate_row_checks FROM raw.deliveries "
                          "WHERE delivery_id = %s", (DELIVERED,)).fetchone() == (True, digest)
