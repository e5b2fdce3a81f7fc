{{ config(
    indexes=[{'columns': ['snapshot_date', 'province_code']}],
    pre_hook="{{ add_names_to_earlier_dates('lookup_province', 'province_code', ['province_iso']) }}",
) }}

-- Every province on D: sums of its districts, coverage_rate from the sums. stale_branches counts each
-- stale branch once, even when it serves several districts of the province.
with served as (select * from {{ ref('stg_reference__branch_districts') }}),

served_districts as (select * from {{ ref('stg_reference__districts') }}),

freshness as (select * from {{ ref('int_branch_freshness') }}),

provinces as (select * from {{ ref('lookup_province') }}),

districts as (
    select
        province_code,
        sum(covered_persons) as covered_persons,
        sum(employed_population) as employed_population,
        sum(vulnerable_persons) as vulnerable_persons,
        sum(villages) as villages,
        sum(villages_target_met) as villages_target_met
    from {{ ref('coverage_district') }}
    where snapshot_date = {{ snapshot_date() }}
    group by province_code
),

stale as (
    select
        served_districts.province_code,
        count(distinct served.branch_code) as stale_branches
    from served
    inner join served_districts using (district_code)
    inner join freshness using (branch_code)
    where freshness.is_stale
    group by served_districts.province_code
)

select
    {{ snapshot_date() }} as snapshot_date,
    provinces.province_code,
    provinces.province_name,
    coalesce(districts.covered_persons, 0)::integer as covered_persons,
    districts.employed_population::bigint as employed_population,
    {{ coverage_rate('coalesce(districts.covered_persons, 0)', 'districts.employed_population') }} as coverage_rate,
    coalesce(districts.vulnerable_persons, 0)::integer as vulnerable_persons,
    coalesce(districts.villages, 0)::integer as villages,
    coalesce(districts.villages_target_met, 0)::integer as villages_target_met,
    coalesce(stale.stale_branches, 0)::integer as stale_branches,
    provinces.province_iso
from provinces
left join districts using (province_code)
left join stale using (province_code)
