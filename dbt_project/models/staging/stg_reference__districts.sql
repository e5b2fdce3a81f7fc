with source as (select * from {{ source('reference', 'districts') }})

select
    province_code,
    district_code,
    district_name
from source
