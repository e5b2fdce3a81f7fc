select
    province_code,
    province_name
from {{ source('reference', 'provinces') }}
