{{ config(indexes=[{'columns': ['snapshot_date', 'district_code']}]) }}

-- Coverage by the district that issued the NIK (award-v2.md section 3): the covered persons of D as
-- int_persons_covered placed them (contract 5.4-5.5; macro persons_placed), counted by their NIK's first four
-- digits (int_nik_district_person_counts) instead of by the village they are placed in. The frame and the
-- denominator are coverage_district's (one definition of a district's employed population); a last row per
-- date gathers the persons whose NIK names no district of the reference, so that the rows of a date add up to
-- the national covered persons.
with counts as (select * from {{ ref('int_nik_district_person_counts') }}),

villages as (select * from {{ ref('stg_reference__villages') }}),

districts as (
    select
        province_code,
        district_code,
        district_name,
        employed_population,
        province_name
    from {{ ref('coverage_district') }}
    where snapshot_date = {{ snapshot_date() }}
),

-- A NIK prefix that names no district of the reference (nor a missing one) counts in the row of no district.
by_nik_district as (
    select
        districts.district_code,
        sum(counts.covered_persons) as covered_persons_nik,
        coalesce(sum(counts.covered_persons) filter (where villages.district_code = districts.district_code), 0)
            as placed_here
    from counts
    inner join villages on counts.village_code = villages.village_code
    left join districts on counts.nik_district_code = districts.district_code
    group by districts.district_code
)

select
    {{ snapshot_date() }} as snapshot_date,
    districts.province_code,
    districts.district_code,
    districts.district_name,
    coalesce(by_nik_district.covered_persons_nik, 0)::integer as covered_persons_nik,
    coalesce(by_nik_district.placed_here, 0)::integer as covered_persons_nik_placed_here,
    districts.employed_population,
    {{ coverage_rate('coalesce(by_nik_district.covered_persons_nik, 0)', 'districts.employed_population') }}
        as coverage_rate_nik,
    districts.province_name
from districts
left join by_nik_district using (district_code)

union all

-- No district: nowhere to be placed "here", no employed population, no rate. The row is there on every date,
-- with 0 when every NIK names a district, so that a BI tool finds it.
select
    {{ snapshot_date() }} as snapshot_date,
    null as province_code,
    null as district_code,
    null as district_name,
    coalesce(max(by_nik_district.covered_persons_nik), 0)::integer as covered_persons_nik,
    null::integer as covered_persons_nik_placed_here,
    null::bigint as employed_population,
    null::numeric as coverage_rate_nik,
    null as province_name
from by_nik_district
where by_nik_district.district_code is null
