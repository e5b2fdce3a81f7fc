-- Every covered person counts once in coverage_district_nik, in their NIK's district or in the row of no
-- district (award-v2.md section 3): on the night's date its rows add up to the national covered persons,
-- the sum of coverage_province. A person lost by the join to their placing row, or counted twice, shows here.
with by_nik as (
    select coalesce(sum(covered_persons_nik), 0) as covered_persons
    from {{ ref('coverage_district_nik') }}
    where snapshot_date = {{ snapshot_date() }}
),

national as (
    select coalesce(sum(covered_persons), 0) as covered_persons
    from {{ ref('coverage_province') }}
    where snapshot_date = {{ snapshot_date() }}
)

select
    by_nik.covered_persons as by_nik_district,
    national.covered_persons as national
from by_nik
cross join national
where by_nik.covered_persons <> national.covered_persons
