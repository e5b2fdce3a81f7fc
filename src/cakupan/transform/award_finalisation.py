"""The committee's sign-off of an award year (`cakupan award finalise`, contract award-v2 section 5).

Finalising year Y stores the year's award rows, as published, in `audit.award_finalised_rows` (one JSON object
a row, every column) and records the finalisation in `audit.award_finalisations`. From then on the award marts
take year Y's rows from there instead of scoring them again (macro `award_keep_finalised`): every night's
candidate reproduces them byte for byte, so the publication's replacement of every award row keeps them, and
later nights, backfills and rubric changes leave them as finalised. The audit tables sit outside the schemas
dbt rebuilds; `marts.award_finalisations` shows the records to BI tools.

`--supersede` scores year Y again with the data and rubric of today (the latest published night's data, the
rubric file in force), freezes those rows instead, and keeps the earlier record with `superseded_at` set.

The command holds the night lease while it works, so no night builds or publishes meanwhile, and publishes
itself (the candidate with `award_finalisations` built, and with --supersede the award models): the published
marts show the finalisation at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cakupan.errors import UserError
from cakupan.platform import db
from cakupan.publish import night_lease, publication
from cakupan.settings import Settings
from cakupan.transform.award_rubric import AWARD_LEVELS, read_rubric, store_rubric
from cakupan.transform.dbt_runner import DbtFailed, run_dbt

log = logging.getLogger(__name__)

# Each award level and its mart: the rows a finalisation freezes, and the order of the digest.
AWARD_MARTS = {name: level.mart for name, level in AWARD_LEVELS.items()}
FINALISATIONS_MART = "award_finalisations"
# The dbt var that has the award models score year Y again although it is finalised (--supersede only).
RESCORE_VAR = "award_rescore_year"


class FinaliseRefused(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class Finalisation:
    year: int
    rubric_version: str
    snapshot_date: dt.date
    finalised_by: str
    finalised_at: dt.datetime
    digest: str
    rows: int
    superseded: dt.datetime | None  # when this finalisation replaced an earlier one: the earlier's finalised_at

    def describe(self) -> str:
        again = f", superseding the finalisation of {self.superseded:%Y-%m-%d %H:%M}" if self.superseded else ""
        return (f"Award {self.year} finalised by {self.finalised_by} at {self.finalised_at:%Y-%m-%d %H:%M %Z}"
                f"{again}: {self.rows} rows, snapshot {self.snapshot_date}, rubric {self.rubric_version}, "
                f"digest {self.digest}. Later nights leave these rows as they are.")


def rows_json(schema: str, year_placeholder: str = "%(year)s") -> sql.Composed:
    """Every award row of the year in `schema`'s award marts: (level, the row as JSON), in the digest's order."""
    return sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {} AS level, to_jsonb(award) AS award_row FROM {} AS award WHERE award.year = {}").format(
            sql.Literal(level), sql.Identifier(schema, mart), sql.SQL(year_placeholder))
        for level, mart in AWARD_MARTS.items())


def digest(conn: psycopg.Connection, year: int, schema: str = publication.PUBLISHED) -> str | None:
    """md5 of the year's award rows of every level in `schema`: each row's JSON (every column, keys in
    PostgreSQL's fixed order) after its level, one a line, ordered by level and row. None without rows."""
    return conn.execute(
        sql.SQL("SELECT md5(string_agg(level || E'\\t' || award_row::text, E'\\n' ORDER BY level, award_row::text)) "
                "FROM ({}) AS award_rows").format(rows_json(schema)), {"year": year}).fetchone()[0]


def current(conn: psycopg.Connection, year: int) -> tuple | None:
    """The year's finalisation in force: (finalisation_id, finalised_by, finalised_at, digest), or None."""
    return conn.execute(
        "SELECT finalisation_id, finalised_by, finalised_at, digest FROM audit.award_finalisations "
        "WHERE year = %s AND superseded_at IS NULL", (year,)).fetchone()


def finalise(settings: Settings, year: int, by: str, *, supersede: bool = False) -> Finalisation:
    """Sign off award year `year` in the name of `by` (see the module's docstring); refuses, saying what to do,
    while a night runs, when the year has no published award rows, or when it is final already and
    `supersede` is not set."""
    if not by.strip():
        raise FinaliseRefused("--by needs the name of whoever signs the year off (it is recorded).")
    run_id = f"award-finalise-{year}-{uuid.uuid4().hex[:8]}"
    with db.connect(settings, "admin") as admin:
        db.apply_schema(admin)  # the finalisation tables, on a warehouse from before them
    # The lease is the loader's, as a night's first task takes it; the work is the transformer's.
    with db.connect(settings, "loader") as loader, db.connect(settings, "transformer") as conn:
        published = conn.execute("SELECT max(snapshot_date) FROM audit.publications").fetchone()[0]
        if published is None:
            raise FinaliseRefused(f"Nothing is published yet, so award {year} has no rows to finalise: run the "
                                  "year's nights first (cakupan run --date YYYY-MM-DD).")
        lease, holder = night_lease.try_take(loader, run_id=run_id, snapshot_date=published,
                                             holder=night_lease.holder_name())
        if lease is None:
            raise FinaliseRefused(
                f"A night is running ({holder.describe() if holder else 'another run'}), and the award marts may not "
                f"change under it: run `cakupan award finalise --year {year}` again once it has ended.")
        try:
            with night_lease.Heartbeat(settings, lease.lease_id) as heartbeat:
                done = _finalise_holding_the_lease(settings, conn, year, by.strip(), supersede, published, run_id,
                                                   lease.lease_id)
            if heartbeat.lost:
                raise heartbeat.lost
            return done
        finally:
            night_lease.release(loader, lease.lease_id)


def _finalise_holding_the_lease(settings: Settings, conn: psycopg.Connection, year: int, by: str,
                                supersede: bool, published: dt.date, run_id: str, lease_id: str) -> Finalisation:
    rows = sum(conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE year = %s").format(
        sql.Identifier(publication.PUBLISHED, mart)), (year,)).fetchone()[0] for mart in AWARD_MARTS.values()
        if conn.execute("SELECT to_regclass(%s)", (f"{publication.PUBLISHED}.{mart}",)).fetchone()[0])
    if not rows:
        raise FinaliseRefused(
            f"marts has no award rows of {year} (the published nights hold no snapshot of that year): nothing to "
            f"finalise. Run a night of {year} first (cakupan run --date {year}-MM-DD), or check --year.")
    earlier = current(conn, year)
    if earlier and not supersede:
        raise FinaliseRefused(
            f"Award {year} was finalised by {earlier[1]} at {earlier[2]:%Y-%m-%d %H:%M %Z} (digest {earlier[3]}); "
            "its rows no longer change. To score it again with today's data and rubric and finalise that instead "
            "(the earlier record is kept), add --supersede.")

    source = publication.PUBLISHED
    if supersede:
        # Today's rows of the year: scored again into the candidate, with the rubric file now in force.
        with conn.transaction():
            store_rubric(conn, read_rubric(settings.award_rubric))
        publication.prepare_candidate(conn, published, run_id)
        _build(settings, published, [*AWARD_MARTS.values()], {RESCORE_VAR: year})
        source = publication.CANDIDATE

    with conn.transaction():
        if current(conn, year) != earlier:  # re-read under the lease: nobody else finalises meanwhile
            raise FinaliseRefused(f"Award {year} was finalised by someone else meanwhile: run the command again.")
        finalised_at = conn.execute("SELECT now()").fetchone()[0]
        if earlier:
            conn.execute("UPDATE audit.award_finalisations SET superseded_at = %s WHERE finalisation_id = %s",
                         (finalised_at, earlier[0]))
        version, snapshot_date = conn.execute(sql.SQL(
            "SELECT max(rubric_version), max(snapshot_date) FROM {} WHERE year = %s").format(
            sql.Identifier(source, AWARD_MARTS["district"])), (year,)).fetchone()
        row_digest = digest(conn, year, source)
        finalisation_id = conn.execute(
            "INSERT INTO audit.award_finalisations (year, rubric_version, snapshot_date, finalised_by, finalised_at, "
            "digest) VALUES (%s, %s, %s, %s, %s, %s) RETURNING finalisation_id",
            (year, version, snapshot_date, by, finalised_at, row_digest)).fetchone()[0]
        frozen = conn.execute(sql.SQL(
            "INSERT INTO audit.award_finalised_rows (finalisation_id, level, award_row) "
            "SELECT %(finalisation)s, level, award_row FROM ({}) AS award_rows").format(rows_json(source)),
            {"year": year, "finalisation": finalisation_id}).rowcount

    # The published marts show it at once. Their award rows of the year already are the frozen ones (the published
    # rows, or the candidate's rescored ones): only the finalisations are built, and the candidate published.
    try:
        if not supersede:
            publication.prepare_candidate(conn, published, run_id)
        _build(settings, published, [FINALISATIONS_MART], {})
        publication.publish(conn, published, run_id, lease_id=lease_id)
    except (DbtFailed, publication.PublicationRefused) as error:
        raise FinaliseRefused(
            f"Award {year} is finalised (recorded, digest {row_digest}), but publishing it failed, so marts show it "
            f"from the next night on: {str(error).splitlines()[0]}") from error
    return Finalisation(year, version, snapshot_date, by, finalised_at, row_digest, frozen,
                        earlier[2] if earlier else None)


def _build(settings: Settings, snapshot_date: dt.date, models: list[str], extra_vars: dict) -> None:
    """`models` and their data tests built into the candidate, on the intermediate tables of the latest night (the
    lease keeps any other night from changing them meanwhile)."""
    run_dbt(settings, ["build", "--select", " ".join(models), "--exclude-resource-type", "unit_test"], snapshot_date,
            log=logging.getLogger("cakupan.dbt").info,
            extra_vars={"marts_schema": publication.CANDIDATE, **extra_vars})
