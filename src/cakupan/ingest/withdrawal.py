"""`cakupan delivery withdraw KODE DATE`: take back a delivery that was accepted but should not count.

A branch sometimes finds out after a night that what it delivered was wrong (the wrong office's file, a test
export), and has nothing better to send for that date. Withdrawing the delivery makes the warehouse as if it had
been rejected: the branch's snapshot falls back to its previous accepted delivery, and the next night (or a
backfill from the delivery's date) publishes what a warehouse that never saw it would publish.

Nothing leaves the audit trail: the delivery's `audit.file_loads` rows stay, marked `withdrawn`, and
`audit.withdrawals` says who withdrew it, when and why. Its folder stays in the landing root, and since its
fingerprint is in `audit.file_loads`, no night reads it again. A corrected export of the same date is a new
delivery, and loads as any other.

Its rows leave `raw`, as those of a delivery a correction replaces (load.retire_delivery). The dbt build then finds
the branch's current snapshot is not the delivery its participants layer holds and compares the branch's rows
itself (int_participant_changes). Payments are counted incrementally from the deliveries new since the last
build, and a delivery that goes away is not new: so the payment counts are emptied, as a crash of the
warehouse empties them, and the next build counts every export date's payments again.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
from dataclasses import dataclass

import psycopg

from cakupan.errors import UserError
from cakupan.ingest.load import retire_delivery
from cakupan.publish import night_lease

# The counts of payments by export date (dbt: int_contributions_by_export_date), unlogged and made again from
# raw by the next build when empty.
PAYMENT_COUNTS = "intermediate.int_contributions_by_export_date"


class WithdrawalError(UserError, RuntimeError):
    """Nothing to withdraw, or not now: the message says why and what to do."""


@dataclass(frozen=True)
class Withdrawal:
    delivery_id: int
    kode_cabang: str
    export_date: dt.date
    files: list[str]
    reason: str | None
    withdrawn_by: str
    falls_back_to: dt.date | None  # the branch's previous accepted export date, now its snapshot
    last_published: dt.date | None  # the last date whose marts are published (a backfill's end)


def withdrawn_by() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def withdraw(conn: psycopg.Connection, kode_cabang: str, export_date: dt.date, reason: str | None = None,
             by: str | None = None) -> Withdrawal:
    """Withdraw the accepted delivery of `kode_cabang` for `export_date`, in one transaction (as cakupan_admin,
    on an autocommit connection)."""
    by = by or withdrawn_by()
    with conn.transaction():
        _refuse_during_a_night(conn)
        found = conn.execute(
            "SELECT delivery_id FROM raw.deliveries WHERE kode_cabang = %s AND export_date = %s FOR UPDATE",
            (kode_cabang, export_date)).fetchone()
        if found is None:
            raise WithdrawalError(_nothing_to_withdraw(conn, kode_cabang, export_date))
        delivery_id = found[0]
        files = retire_delivery(conn, delivery_id, "withdrawn")
        conn.execute(
            "INSERT INTO audit.withdrawals (delivery_id, kode_cabang, export_date, files, reason, withdrawn_by) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (delivery_id, kode_cabang, export_date, sorted(files), reason, by))
        if conn.execute("SELECT to_regclass(%s)", (PAYMENT_COUNTS,)).fetchone()[0]:
            conn.execute(f"TRUNCATE {PAYMENT_COUNTS}")
        falls_back_to = conn.execute(
            "SELECT max(export_date) FROM raw.deliveries WHERE kode_cabang = %s AND export_date < %s "
            "AND raw_gate_passed_at IS NOT NULL", (kode_cabang, export_date)).fetchone()[0]
        last_published = conn.execute("SELECT max(snapshot_date) FROM audit.publications").fetchone()[0]
    return Withdrawal(delivery_id, kode_cabang, export_date, sorted(files), reason, by, falls_back_to,
                      last_published)


def _refuse_during_a_night(conn: psycopg.Connection) -> None:
    """A night holds the night lease (audit.night_lease) from finding its exports to publishing: taking a
    delivery away under it would leave its gates and its build reading different deliveries."""
    night = night_lease.current(conn)
    if night and not night.abandoned:
        raise WithdrawalError(f"a night is running ({night.describe()}): withdraw the delivery once it has ended.")


def _nothing_to_withdraw(conn: psycopg.Connection, kode_cabang: str, export_date: dt.date) -> str:
    statuses = [status for (status,) in conn.execute(
        "SELECT DISTINCT status FROM audit.file_loads WHERE kode_cabang = %s AND export_date = %s ORDER BY 1",
        (kode_cabang, export_date))]
    if not statuses:
        return (f"no delivery of {kode_cabang} for {export_date} was ever loaded (audit.file_loads has none): "
                "check the branch code and the date.")
    return (f"{kode_cabang}/{export_date} counts already for nothing: its deliveries are {', '.join(statuses)} "
            "in audit.file_loads; nothing to withdraw.")


def describe(withdrawal: Withdrawal) -> str:
    """What was done, and what to run next."""
    w = withdrawal
    fallback = (f"{w.kode_cabang}'s snapshot is its delivery of {w.falls_back_to} again" if w.falls_back_to else
                f"{w.kode_cabang} has no earlier accepted delivery: it counts as having delivered nothing")
    lines = [f"Withdrawn: {w.kode_cabang}/{w.export_date} (delivery {w.delivery_id}; {', '.join(w.files) or 'no file'}"
             f"), by {w.withdrawn_by}" + (f": {w.reason}" if w.reason else "") + ".",
             f"Its rows are out of raw and its audit.file_loads rows say 'withdrawn' (audit.withdrawals keeps who, "
             f"when and why); {fallback}. Its folder is never read again."]
    if w.last_published and w.last_published >= w.export_date:
        lines.append(f"The marts published from {w.export_date} to {w.last_published} still count it: rebuild them "
                     f"with `cakupan backfill --start {w.export_date} --end {w.last_published}`.")
    else:
        lines.append("No published night counted it yet: the next night leaves it out.")
    return "\n".join(lines)
