"""The short coverage summary printed at the end of a run: top provinces, stale branches, where things are."""

from __future__ import annotations

import datetime as dt

import psycopg


def coverage_summary(conn: psycopg.Connection, snapshot_date: dt.date, top: int = 5) -> str:
    rows = conn.execute(
        """
        SELECT province_name, covered_persons, employed_population, coverage_rate, vulnerable_persons, stale_branches
        FROM marts.coverage_province
        WHERE snapshot_date = %s AND covered_persons > 0
        ORDER BY coverage_rate DESC NULLS LAST, covered_persons DESC
        LIMIT %s
        """,
        (snapshot_date, top),
    ).fetchall()
    totals = conn.execute(
        """
        SELECT coalesce(sum(covered_persons), 0), coalesce(sum(vulnerable_persons), 0),
               count(*) FILTER (WHERE covered_persons > 0)
        FROM marts.coverage_province WHERE snapshot_date = %s
        """,
        (snapshot_date,),
    ).fetchone()
    lines = [
        f"Cakupan: coverage on {snapshot_date} (top provinces by coverage rate)",
        f"  {'province':<28} {'covered':>10} {'employed':>12} {'rate':>7} {'vulnerable':>10} {'stale':>5}",
    ]
    for name, covered, employed, rate, vulnerable, stale in rows:
        rate_text = f"{float(rate) * 100:6.2f}%" if rate is not None else "     -"
        employed_text = f"{employed:,}" if employed is not None else "-"
        lines.append(f"  {name:<28} {covered:>10,} {employed_text:>12} {rate_text:>7} {vulnerable:>10,} {stale:>5}")
    lines.append(f"  {totals[0]:,} covered persons ({totals[1]:,} vulnerable workers) in {totals[2]} provinces.")
    return "\n".join(lines)
