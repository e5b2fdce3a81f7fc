{#- The award indicators of a level (district or province) for every award year, from its coverage mart of
    the year's last snapshot. One definition for both levels: only the grouping key and the names differ.
    Every column here can be named as an indicator in award/rubric.yml. -#}
{% macro award_indicators(coverage_model, key, names) %}
with snapshots as (select * from {{ ref('int_award_snapshots') }}),
coverage as (select * from {{ ref(coverage_model) }}),
participation as (select * from {{ ref('participation_district') }}),
contributions as (select * from {{ ref('contributions_district_month') }}),

-- Village staff, non-civil-servant government workers and election ad-hoc workers with an AKTIF KPJ.
government_workers as (
    select snapshots.year, participation.{{ key }}, sum(participation.active_participations) as government_workers
    from snapshots
    join participation on participation.snapshot_date = snapshots.snapshot_date
    where participation.occupation in ('PERANGKAT_DESA', 'NON_ASN', 'ADHOC_PEMILU')
    group by 1, 2
),

-- Contributions for periods of the year paid from public budgets (APBN, APBD, APBDes, DBH sawit).
public_contributions as (
    select extract(year from period)::integer as year, {{ key }}, sum(amount_idr) as public_contributions_idr
    from contributions
    where funding_source in ('APBN', 'APBD', 'APBDES', 'DBH_SAWIT') and {{ key }} is not null
    group by 1, 2
)

select
    snapshots.year,
    snapshots.snapshot_date,
    {% if key == 'district_code' %}coverage.province_code,{% endif %}
    coverage.{{ key }},
    {% for name in names %}coverage.{{ name }},
    {% endfor -%}
    coverage.covered_persons,
    coverage.employed_population,
    coverage.coverage_rate,
    year_before.coverage_rate as coverage_rate_year_before,
    (coverage.coverage_rate - year_before.coverage_rate) * 100 as coverage_rate_change_pp,
    coverage.vulnerable_persons,
    coverage.vulnerable_persons * 1000.0 / nullif(coverage.employed_population, 0) as vulnerable_per_1000_employed,
    coverage.villages,
    coverage.villages_target_met,
    coverage.villages_target_met::numeric / nullif(coverage.villages, 0) as villages_target_met_share,
    coalesce(government_workers.government_workers, 0)::integer as government_workers,
    coalesce(government_workers.government_workers, 0) * 1000.0
        / nullif(coverage.employed_population, 0) as government_workers_per_1000_employed,
    coalesce(public_contributions.public_contributions_idr, 0)::bigint as public_contributions_idr,
    coalesce(public_contributions.public_contributions_idr, 0)::numeric
        / nullif(coverage.employed_population, 0) as public_contributions_per_employed_idr
from snapshots
join coverage on coverage.snapshot_date = snapshots.snapshot_date
left join coverage as year_before
    on year_before.snapshot_date = snapshots.year_before_snapshot_date and year_before.{{ key }} = coverage.{{ key }}
left join government_workers
    on government_workers.year = snapshots.year and government_workers.{{ key }} = coverage.{{ key }}
left join public_contributions
    on public_contributions.year = snapshots.year and public_contributions.{{ key }} = coverage.{{ key }}
{% endmacro %}
