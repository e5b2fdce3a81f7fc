-- A left join: a district whose province is missing stays, for the relationships test to name it.
with source as (select * from {{ source('reference', 'districts') }}),

provinces as (select * from {{ source('reference', 'provinces') }})

select
    source.province_code,
    provinces.province_name,
    source.district_code,
    source.district_name
from source
left join provinces using (province_code)
