"""A fingerprint of the published marts, to prove that a failed night changed none of them."""

from __future__ import annotations

MARTS = ("coverage_village", "coverage_district", "coverage_province", "participation_district",
         "contributions_district_month")


def fingerprint(conn, schema: str = "marts") -> dict[str, tuple[int, str]]:
    """Rows and a digest of every row of every mart."""
    return {
        table: conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {schema}.{table} t"
        ).fetchone()
        for table in MARTS
    }
