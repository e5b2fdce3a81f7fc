{{ config(
    indexes=[{'columns': ['snapshot_date', 'district_code']}],
    pre_hook="{{ add_names_to_earlier_dates('stg_reference__villages', 'village_code',
                                           ['province_name', 'district_name', 'subdistrict_name']) }}",
) }}

-- Every village of the reference on D, with the covered persons placed in it (0 where none): persons by NIK,
-- placed by the rule persons_placed (macros/counting_rules.sql, contract 5.4-5.5).
with villages as (select * from {{ ref('stg_reference__villages') }}),

persons_per_village as (select * from {{ ref('int_village_person_counts') }})

select
    {{ snapshot_date() }} as snapshot_date,
    villages.province_code,
    villages.district_code,
    villages.subdistrict_code,
    villages.village_code,
    villages.village_name,
    coalesce(persons_per_village.covered_persons, 0)::integer as covered_persons,
    coalesce(persons_per_village.vulnerable_persons, 0)::integer as vulnerable_persons,
    {{ vulnerable_target() }}::integer as vulnerable_target,
    coalesce(persons_per_village.vulnerable_persons, 0) >= {{ vulnerable_target() }} as vulnerable_target_met,
    villages.province_name,
    villages.district_name,
    villages.subdistrict_name
from villages
left join persons_per_village using (village_code)
