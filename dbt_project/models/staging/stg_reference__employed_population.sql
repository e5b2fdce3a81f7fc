select
    district_code,
    year,
    employed_population
from {{ source('reference', 'employed_population') }}
