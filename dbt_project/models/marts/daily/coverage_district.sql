{{ config(
    indexes=[{'columns': ['snapshot_date', 'district_code']}],
    pre_hook="{{ add_names_to_earlier_dates('stg_reference__districts', 'district_code', ['province_name']) }}",
) }}

-- Every district on D: its villages summed, the employed population of the latest year <= D's year
-- (contract 5.6), and how many of the branches serving it are stale. The counting rules (covered persons,
-- coverage_rate) are the macros of macros/counting_rules.sql.
with served as (select * from {{ ref('stg_reference__branch_districts') }}),

freshness as (select * from {{ ref('int_branch_freshness') }}),

districts as (select * from {{ ref('stg_reference__districts') }}),

villages as (
    select
        district_code,
        sum(covered_persons) as covered_persons,
        sum(vulnerable_persons) as vulnerable_persons,
        count(*) as villages,
        count(*) filter (where vulnerable_target_met) as villages_target_met
    from {{ ref('coverage_village') }}
    where snapshot_date = {{ snapshot_date() }}
    group by district_code
),

employed as (
    select distinct on (district_code)
        district_code,
        employed_population
    from {{ ref('stg_reference__employed_population') }}
    where year <= extract(year from {{ snapshot_date() }})
    order by district_code asc, year desc
),

stale as (
    select
        served.district_code,
        count(*) as stale_branches
    from served
    inner join freshness using (branch_code)
    where freshness.is_stale
    group by served.district_code
)

select
    {{ snapshot_date() }} as snapshot_date,
    districts.province_code,
    districts.district_code,
    districts.district_name,
    coalesce(villages.covered_persons, 0)::integer as covered_persons,
    employed.employed_population::bigint as employed_population,
    {{ coverage_rate('coalesce(villages.covered_persons, 0)', 'employed.employed_population') }} as coverage_rate,
    coalesce(villages.vulnerable_persons, 0)::integer as vulnerable_persons,
    coalesce(villages.villages, 0)::integer as villages,
    coalesce(villages.villages_target_met, 0)::integer as villages_target_met,
    coalesce(stale.stale_branches, 0)::integer as stale_branches,
    districts.province_name
from districts
left join villages using (district_code)
left join employed using (district_code)
left join stale using (district_code)
