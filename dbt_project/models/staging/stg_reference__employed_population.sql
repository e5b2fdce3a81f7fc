with source as (select * from {{ source('reference', 'employed_population') }})

select
    district_code,
    year,
    employed_population
from source
