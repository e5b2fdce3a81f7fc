"""A bad day through the whole night (contract branch-export-v1 section 7): hostile deliveries beside the good
ones of the hand-worked small night. Each is recorded as a rejection, the night publishes exactly the figures of
the clean night, in bounded memory, and no personal data from any of them reaches a log, a report or the site."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import resource
import zipfile
from pathlib import Path

import pytest

from cakupan.orchestration.airflow_support import usage_file
from cakupan.orchestration.dag_run import run_nightly
from delivery_builder import PESERTA_HEADER, csv_bytes, peserta, write_delivery
from small_night_figures import D, assert_the_hand_worked_figures

pytestmark = pytest.mark.slow

# Recognisable personal data that only the hostile files carry.
PII_NIK, PII_NAME, PII_BIRTH = "3171999988887777", "SITI PIIMARKER", "1971-07-17"
MARKED = peserta(kpj="19999999991", nik=PII_NIK, nama=PII_NAME, tanggal_lahir=PII_BIRTH)
EARLIER = (D - dt.timedelta(days=3)).isoformat()  # before every good snapshot: a wrong accept would still be seen


def _marked_csv(header: list[str] | None = None) -> bytes:
    return csv_bytes(header or PESERTA_HEADER, [MARKED, peserta(kpj="19999999992", nik=PII_NIK, nama=PII_NAME)])


def _xlsx_bomb() -> bytes:
    """A small zip whose worksheet declares and holds far more XML than any export needs."""
    buffer = io.BytesIO()
    row = "<row>" + "<c t=\"inlineStr\"><is><t>" + PII_NAME + "</t></is></c>" * 50 + "</row>"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b"<worksheet><sheetData>")
            block = row.encode() * 2_000
            for _ in range(1_200):  # ~2.4 GB inflated, a few MB on disk
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def _hostile_deliveries(landing: Path) -> dict[str, str]:
    """Write the bad day's deliveries; returns each one's folder label and the rule it must be rejected by
    (None where only the status is promised)."""
    expectations: dict[str, str | None] = {}

    # Every row rejected (a stray trailing comma in the header makes each row one field short): SOLOK's
    # missing 11-20 export arrives like that. The branch keeps its 11-19 snapshot and stays stale.
    header = ",".join(PESERTA_HEADER) + ","
    body = "\n".join(",".join(MARKED[c] for c in PESERTA_HEADER) for _ in range(3))
    write_delivery(landing, "SOLOK", D.isoformat(), [MARKED] * 3,
                   files={"peserta.csv": f"{header}\n{body}\n".encode()}, row_counts={"peserta.csv": 3})
    expectations[f"SOLOK/{D}"] = "no_usable_rows"

    # A branch the reference does not list.
    write_delivery(landing, "CABANG_BARU", D.isoformat(), [MARKED])
    expectations[f"CABANG_BARU/{D}"] = "branch_unknown"

    # Manifests of valid JSON and the wrong shape.
    for branch, shape in (("SAWAHLUNTO", {"files": None}), ("PEKANBARU", {"files": 5})):
        write_delivery(landing, branch, EARLIER, [MARKED], manifest_overrides=shape)
        expectations[f"{branch}/{EARLIER}"] = None
    deep = landing / "SOLOK" / EARLIER
    write_delivery(landing, "SOLOK", EARLIER, [MARKED])
    (deep / "_manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    expectations[f"SOLOK/{EARLIER}"] = None

    # A header of a million columns, and a header field of 200 KB.
    earliest = (D - dt.timedelta(days=4)).isoformat()
    write_delivery(landing, "SAWAHLUNTO", earliest, [MARKED],
                   files={"peserta.csv": (",".join(f"c{i}" for i in range(1_000_000)) + "\n").encode() + _marked_csv()},
                   row_counts={"peserta.csv": 3})
    expectations[f"SAWAHLUNTO/{earliest}"] = None
    write_delivery(landing, "PEKANBARU", earliest, [MARKED],
                   files={"peserta.csv": ("x" * 200_000 + "," + ",".join(PESERTA_HEADER) + "\n").encode()})
    expectations[f"PEKANBARU/{earliest}"] = None

    # An XLSX that inflates to gigabytes.
    oldest = (D - dt.timedelta(days=5)).isoformat()
    write_delivery(landing, "SOLOK", oldest, [MARKED], files={"peserta.xlsx": _xlsx_bomb()})
    expectations[f"SOLOK/{oldest}"] = None

    # A file that is a symbolic link out of the landing folder, to a file full of personal data.
    secret = landing.parent / "outside.csv"
    secret.write_bytes(_marked_csv())
    linked = write_delivery(landing, "SAWAHLUNTO", oldest, [MARKED])
    (linked / "peserta.csv").unlink()
    (linked / "peserta.csv").symlink_to(secret)
    expectations[f"SAWAHLUNTO/{oldest}"] = None

    # Upper-case checksums, as Windows prints them, are the same checksums: this delivery is good.
    good = write_delivery(landing, "PEKANBARU", oldest, [peserta(kode_desa="14.71.01.1002")])
    manifest = json.loads((good / "_manifest.json").read_text())
    for entry in manifest["files"]:
        entry["sha256"] = entry["sha256"].upper()
    (good / "_manifest.json").write_text(json.dumps(manifest))

    # An implausible date, and one after the night: neither is read as tonight's data.
    write_delivery(landing, "PEKANBARU", "1900-01-01", [MARKED])
    expectations["PEKANBARU/1900-01-01"] = "implausible_date"
    write_delivery(landing, "SAWAHLUNTO", (D + dt.timedelta(days=2)).isoformat(), [MARKED])
    return expectations


def _files_under(*roots: Path):
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path


def test_a_bad_day_publishes_the_clean_figures_and_leaks_nothing(night, empty_warehouse, caplog, capfd):
    conn = empty_warehouse
    rejections = _hostile_deliveries(night.landing_root)

    # The night's tasks run in this process (dag.test), and their usage reports this process's peak, or its
    # largest child's: whatever earlier tests of the session left there is the floor the loads start from.
    peak_before = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    run = run_nightly(night, D)
    assert run.succeeded, run.failure_summary()

    # Every hostile delivery was recorded as a rejection with its rule; the good one with upper-case sums loaded.
    recorded = {f"{branch}/{date}": (status, reason) for branch, date, status, reason in conn.execute(
        """SELECT DISTINCT ON (kode_cabang, export_date) kode_cabang, export_date::text, status, reason
           FROM audit.file_loads ORDER BY kode_cabang, export_date, (status = 'rejected' AND reason NOT LIKE
           'delivery_rejected%%') DESC""")}
    for label, rule in rejections.items():
        status, reason = recorded[label]
        assert status == "rejected", (label, status, reason)
        assert rule is None or reason.startswith(rule + ":"), (label, reason)
    assert recorded[f"PEKANBARU/{(D - dt.timedelta(days=5)).isoformat()}"][0] == "loaded"
    assert f"SAWAHLUNTO/{(D + dt.timedelta(days=2)).isoformat()}" not in recorded

    # The published figures are the clean night's, to the row, and SOLOK is still late on its 11-19 snapshot.
    assert_the_hand_worked_figures(conn)
    assert conn.execute(
        "SELECT branch_code, current_snapshot_date::text, freshness_status FROM marts.branch_freshness "
        "WHERE snapshot_date = %s ORDER BY 1", (D,)).fetchall() == [
        ("PEKANBARU", "2026-11-20", "on_time"), ("SAWAHLUNTO", "2026-11-20", "on_time"),
        ("SOLOK", "2026-11-19", "late")]

    # Bounded memory: the loads of the bomb files stayed in the ordinary range (read whole, they take gigabytes).
    usage = [json.loads(line) for line in usage_file(run.run_id).read_text().splitlines()]
    loads = [u for u in usage if u["task_id"] == "load_exports"]
    assert loads and max(u["peak_rss_mib"] for u in loads) < max(1024, peak_before / 1024 + 256), loads

    # No personal data from any hostile file in any log, report, state file or the docs site.
    leaks = []
    for path in _files_under(night.home, night.reports_root, night.docs_dir):
        data = path.read_bytes()
        for marker in (PII_NIK, PII_NAME, PII_BIRTH):
            if marker.encode() in data:
                leaks.append((str(path), marker))
    printed = caplog.text + "".join(capfd.readouterr())  # the task logs, as the night wrote them
    leaks += [("the night's log", marker) for marker in (PII_NIK, PII_NAME, PII_BIRTH) if marker in printed]
    assert not leaks
    mode = os.stat(night.home).st_mode & 0o777
    assert mode == 0o700, oct(mode)
