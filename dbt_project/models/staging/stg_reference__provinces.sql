with source as (select * from {{ source('reference', 'provinces') }})

select
    province_code,
    province_name
from source
