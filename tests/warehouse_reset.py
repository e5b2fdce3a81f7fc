"""A warehouse as a test begins with it: the night's data gone, the region reference kept."""

from __future__ import annotations


def empty(conn):
    """raw, audit and every dbt schema emptied; the region reference kept."""
    conn.execute("DROP SCHEMA IF EXISTS staging, intermediate, marts, marts_candidate CASCADE")
    conn.execute(
        "TRUNCATE raw.deliveries, raw.peserta, raw.peserta_changes, raw.iuran, audit.file_loads, audit.rejected_rows, "
        "audit.gate_results, audit.publications, audit.marts_candidate, audit.reference_layer_builds, "
        "audit.night_lease, audit.raw_gate_night, audit.withdrawals, audit.award_finalised_rows, "
        "audit.award_finalisations, "
        "reference.branches, reference.branch_districts, reference.employed_population"
    )
    conn.execute("DELETE FROM reference.sources WHERE source LIKE 'file:%'")
    return conn
