"""What the DAGs hand each other (Airflow assets, data-aware scheduling).

`cakupan_nightly` updates `PUBLISHED_MARTS` when it publishes a night's marts (BI extracts, caches and
anything else that wants fresh figures can be scheduled on it), and `NIGHT_CHECKED` at the end of every
night, published or stopped by a gate, because the reviewers' site must say both. `cakupan_docs_site` runs
on `NIGHT_CHECKED`. Each event carries the night's business date in its extra.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset

PUBLISHED_MARTS = Asset(name="cakupan_published_marts", uri="cakupan://warehouse/marts")
NIGHT_CHECKED = Asset(name="cakupan_night_checked", uri="cakupan://warehouse/audit/gate_results")


def night_extra(snapshot_date: dt.date, **more) -> dict:
    return {"snapshot_date": snapshot_date.isoformat(), **more}


def night_of(context) -> dt.date:
    """The business date a run works on: `snapshot_date` in the run's conf, else the newest event of
    `NIGHT_CHECKED` that triggered it."""
    chosen = (context.get("params") or {}).get("snapshot_date")
    if chosen:
        return dt.date.fromisoformat(str(chosen))
    events = (context.get("triggering_asset_events") or {}).get(NIGHT_CHECKED) or []
    dates = [event.extra["snapshot_date"] for event in events if (event.extra or {}).get("snapshot_date")]
    if not dates:
        raise ValueError("No night to build the docs site for: trigger with {\"snapshot_date\": \"YYYY-MM-DD\"}.")
    return dt.date.fromisoformat(max(dates))
