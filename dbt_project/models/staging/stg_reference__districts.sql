select
    districts.province_code,
    districts.district_code,
    districts.district_name
from {{ source('reference', 'districts') }} as districts
