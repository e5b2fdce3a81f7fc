"""Late branches keep their last snapshot; a late delivery is picked up by the next run; a backfill
rebuilds a range of dates in order through Airflow, and other dates' rows are left as they were."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from cakupan.cli import main as cakupan
from cakupan.platform import db
from cakupan.platform.warehouse import embedded
from cakupan.settings import load_settings
from cakupan.transform.dbt_runner import run_dbt

pytestmark = pytest.mark.slow


@pytest.fixture
def landing(small_night):
    return small_night.landing_root


def district(conn, date: str, code: str) -> tuple:
    return conn.execute(
        "SELECT covered_persons, stale_branches FROM marts.coverage_district WHERE snapshot_date = %s "
        "AND district_code = %s", (date, code)
    ).fetchone()


def finish_upload(folder: Path) -> None:
    files = [{"name": p.name, "rows": p.read_bytes().count(b"\n") - 1,
              "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in sorted(folder.glob("*.csv"))]
    manifest = {"contract_version": 1, "kode_cabang": folder.parent.name, "export_date": folder.name, "files": files}
    (folder / "_manifest.json").write_text(json.dumps(manifest))


def test_backfill_late_delivery_and_rebuild(landing, empty_warehouse, capsys):
    conn = empty_warehouse
    assert cakupan(["backfill", "--start", "2026-11-19", "--end", "2026-11-20"]) == 0, capsys.readouterr().err
    # 19 Nov: SAWAHLUNTO's 19 Nov snapshot (N10 in village B), SOLOK's (N9, N11, N12 in Agam);
    # PEKANBARU has delivered nothing yet, so it is stale.
    assert district(conn, "2026-11-19", "13.73") == (1, 0)
    assert district(conn, "2026-11-19", "13.06") == (3, 0)
    assert district(conn, "2026-11-19", "14.71") == (0, 1)
    # 20 Nov: SOLOK is late (no manifest yet) and keeps its 19 Nov snapshot.
    assert district(conn, "2026-11-20", "13.06") == (2, 1)

    # SOLOK's upload finishes after the night: its 20 Nov snapshot (N11 NONAKTIF, nobody else) arrives.
    finish_upload(landing / "SOLOK" / "2026-11-20")
    assert cakupan(["run", "--date", "2026-11-21"]) == 0, capsys.readouterr().err
    loaded = conn.execute(
        "SELECT status, rows_loaded FROM audit.file_loads WHERE kode_cabang = 'SOLOK' AND export_date = '2026-11-20' "
        "AND file_name = 'peserta.csv'"
    ).fetchone()
    assert loaded == ("loaded", 1)
    # Rebuilding 20 Nov now uses SOLOK's late snapshot: Agam has nobody covered and no stale branch;
    # 19 Nov is left exactly as it was.
    assert cakupan(["backfill", "--start", "2026-11-20", "--end", "2026-11-20"]) == 0
    assert district(conn, "2026-11-20", "13.06") == (0, 0)
    assert district(conn, "2026-11-19", "13.06") == (3, 0)
    assert conn.execute(
        "SELECT count(*) FROM marts.coverage_village WHERE snapshot_date = '2026-11-19'"
    ).fetchone() == (83_762,)

    # The participants layer was kept from each night's changes (the 20 Nov rebuild went back a night from the
    # 21st) and stands exactly as a rebuild makes it.
    layer = {  # model: its rows, in order
        "int_branch_participants": "ORDER BY kpj, branch_code",
        "int_branch_snapshot_dates": "ORDER BY branch_code",
        "int_participants_current": "ORDER BY kpj",
        "int_persons_covered": "ORDER BY person_key",
        # Counts a night took to 0 stay as rows; a rebuild has none.
        "int_participation_counts": "WHERE active_participations > 0 ORDER BY district_code, segment, funding_source, "
                                    "occupation",
        "int_village_person_counts": "WHERE covered_persons > 0 ORDER BY village_code",
        "int_employer_person_participations": "WHERE participations > 0 ORDER BY npp, person_key, counted_as",
        "int_employer_counts": "WHERE (covered_workers, active_participations, vulnerable_aided) <> (0, 0, 0) "
                               "ORDER BY npp",
        "int_nik_district_person_counts": "WHERE covered_persons > 0 ORDER BY village_code, nik_district_code",
    }

    def read_layer() -> dict:
        return {model: conn.execute(f"SELECT * FROM intermediate.{model} {rows}").fetchall()
                for model, rows in layer.items()}

    incremental_layer = read_layer()
    assert conn.execute("SELECT change, count(*) FROM intermediate.int_participant_changes GROUP BY 1 ORDER BY 1"
                        ).fetchall() != [("rebuild", 1)]  # the last build was a diff, not a rebuild
    replaced = ["int_participants_replaced", "int_persons_replaced", "int_employer_participations_changed"]
    run_dbt(load_settings(), ["run", "--full-refresh", "--select", "int_participant_changes", *replaced, *layer],
            dt.date(2026, 11, 20), log=lambda _: None)
    assert read_layer() == incremental_layer and all(incremental_layer.values())
    # A warehouse whose layer was built before it was incremental rebuilds it once, in the nightly build.
    conn.execute("DROP TABLE intermediate.int_branch_participants")
    conn.execute("ALTER TABLE intermediate.int_participants_current DROP COLUMN branches")
    run_dbt(load_settings(), ["run", "--select", "int_participant_changes", *replaced, *layer],
            dt.date(2026, 11, 20), log=lambda _: None)
    assert conn.execute("SELECT change FROM intermediate.int_participant_changes").fetchall() == [("rebuild",)]
    assert read_layer() == incremental_layer
    # So does a layer a build left half written (one model stamped by another build than the rest), and one
    # built by other rules (the code of its models, the vulnerable-worker funding sources).
    build, rules = conn.execute("SELECT build, rules FROM audit.participants_layer_builds "
                                "WHERE model = 'int_persons_covered'").fetchone()
    for stamps in ({"int_persons_covered": ("interrupted", rules)}, {model: (build, "older") for model in layer}):
        for model, (other_build, other_rules) in stamps.items():
            conn.execute("UPDATE audit.participants_layer_builds SET build = %s, rules = %s WHERE model = %s",
                         (other_build, other_rules, model))
        run_dbt(load_settings(), ["run", "--select", "int_participant_changes", *replaced, *layer],
                dt.date(2026, 11, 20), log=lambda _: None)
        assert conn.execute("SELECT change FROM intermediate.int_participant_changes").fetchall() == [("rebuild",)]
        assert read_layer() == incremental_layer

    # Payments were placed and counted incrementally, night by night (each build counting again only the
    # export dates a new delivery could move), and the counts stand exactly as a full recount makes them.
    counted = "SELECT export_date, period, district_code, program, funding_source, payments, amount_idr " \
              "FROM intermediate.int_contributions_by_export_date ORDER BY 1, 2, 3, 4, 5"
    incremental_counts = conn.execute(counted).fetchall()
    assert conn.execute("SELECT count(DISTINCT attributed_at) FROM intermediate.int_contributions_by_export_date"
                        ).fetchone()[0] > 1  # earlier nights' rows were kept, not counted again
    run_dbt(load_settings(), ["run", "--full-refresh", "--select", "int_contributions_by_export_date"],
            dt.date(2026, 11, 20), log=lambda _: None)
    assert conn.execute(counted).fetchall() == incremental_counts and len(incremental_counts) > 0
    assert conn.execute("SELECT sum(payments) FROM intermediate.int_contributions_by_export_date").fetchone()[0] \
        == conn.execute("SELECT count(*) FROM staging.stg_raw__iuran").fetchone()[0]

    # A transfer can change hands with no row changing: KPJ ...011 is in SAWAHLUNTO and PEKANBARU, both of
    # 20 Nov, and PEKANBARU sorts first. SAWAHLUNTO then delivers 21 Nov (the same participants, no payments),
    # PEKANBARU does not: SAWAHLUNTO's later snapshot wins, and the night recomputes just that KPJ. The
    # snapshot also adds KPJ ...017, PEKANBARU's only KPJ of Andi Harahap, under another NIK (a data error): it
    # wins too, the KPJ is now the other person's, and Andi, whose row did not change, is no longer covered.
    following = landing / "SAWAHLUNTO" / "2026-11-21"
    following.mkdir()
    (following / "peserta.csv").write_bytes(
        (landing / "SAWAHLUNTO" / "2026-11-20" / "peserta.csv").read_bytes()
        # The 20 Nov file is of export v1.1: the row ends with an empty npp_pemberi_bantuan.
        + b"11000000017,1471011301780099,Andi Harahap,1978-01-13,L,BPU,JKK;JKM,13.73.01.1002,,ADHOC_PEMILU,APBN,"
          b"2024-02-14,AKTIF,2026-10,1000000,\n")
    (following / "iuran.csv").write_text("id_transaksi,kpj,periode,program,jumlah,tanggal_bayar,sumber_iuran\n")
    finish_upload(following)
    assert cakupan(["run", "--date", "2026-11-21"]) == 0, capsys.readouterr().err
    # dbt kept its parse from the 20 Nov build, yet the daily marts' tests looked at 21 Nov's rows.
    compiled = list((load_settings().home / "dbt" / "target" / "run").rglob("expression_is_true_participati*.sql"))
    assert compiled and all("snapshot_date = date '2026-11-21'" in path.read_text() for path in compiled)
    assert sorted(conn.execute("SELECT change, kpj FROM intermediate.int_participant_changes").fetchall()) == \
        [("added", "11000000017"), ("transferred", "11000000011")]
    # The loader had compared SAWAHLUNTO's new snapshot with the one the layer holds (one row added), so the
    # build diffed no branch itself.
    built = (load_settings().home / "dbt" / "target" / "run").rglob("int_participant_changes.sql")
    assert "branches to diff here" not in next(built).read_text()
    assert conn.execute("SELECT branch_code, village_code FROM intermediate.int_participants_current "
                        "WHERE kpj = '11000000011'").fetchone() == ("SAWAHLUNTO", "13.73.01.1002")
    assert conn.execute("SELECT count(*) FROM intermediate.int_persons_covered WHERE placing_kpj = '11000000017'"
                        ).fetchone() == (1,)  # the new NIK's person only
    incremental_layer = read_layer()
    run_dbt(load_settings(), ["run", "--full-refresh", "--select", "int_participant_changes", *replaced, *layer],
            dt.date(2026, 11, 21), log=lambda _: None)
    assert read_layer() == incremental_layer

    # A crash empties every unlogged table: the intermediate schema (made again from raw by any build, so not
    # worth its WAL) and the layer's stamps with it. The next night finds the layer not whole and rebuilds it,
    # and counts every export date's payments again; the marts BI tools read are logged and kept.
    settings = load_settings()
    if not settings.embedded:
        return  # a server elsewhere is not ours to crash
    counts = conn.execute(counted).fetchall()
    marts = conn.execute("SELECT snapshot_date, count(*) FROM marts.coverage_village GROUP BY 1 ORDER BY 1").fetchall()
    warehouse = embedded(settings)
    url = warehouse.url()
    warehouse.stop(crash=True)
    # Back on its port, though the crash left its connections in TIME_WAIT: its clients keep their URL.
    assert warehouse.start() == url
    conn = db.connect(settings, "setup")
    try:
        assert conn.execute("SELECT count(*) FROM intermediate.int_participants_current").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM audit.participants_layer_builds").fetchone() == (0,)
        assert conn.execute("SELECT snapshot_date, count(*) FROM marts.coverage_village GROUP BY 1 ORDER BY 1"
                            ).fetchall() == marts
        assert cakupan(["run", "--date", "2026-11-21"]) == 0, capsys.readouterr().err
        assert conn.execute("SELECT change FROM intermediate.int_participant_changes").fetchall() == [("rebuild",)]
        assert read_layer() == incremental_layer
        assert conn.execute(counted).fetchall() == counts
    finally:
        conn.close()
