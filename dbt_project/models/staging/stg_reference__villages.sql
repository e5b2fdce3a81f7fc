-- Each village with its parents, joined through the reference (never by slicing codes).
with villages as (select * from {{ source('reference', 'villages') }}),

subdistricts as (select * from {{ source('reference', 'subdistricts') }}),

districts as (select * from {{ source('reference', 'districts') }}),

provinces as (select * from {{ source('reference', 'provinces') }})

select
    provinces.province_code,
    provinces.province_name,
    districts.district_code,
    districts.district_name,
    subdistricts.subdistrict_code,
    subdistricts.subdistrict_name,
    villages.village_code,
    villages.village_name
from villages
inner join subdistricts using (subdistrict_code)
inner join districts using (district_code)
inner join provinces using (province_code)
