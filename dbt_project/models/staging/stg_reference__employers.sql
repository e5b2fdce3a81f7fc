-- The employers of the award's business category (pemberi_kerja.csv, award-v2.md section 2), each with the
-- size class it competes in: small and micro businesses compete together (employer_size_codes). Province of
-- the seat from the district's code.
with source as (select * from {{ source('reference', 'employers') }}),

sizes as (select * from {{ ref('employer_size_codes') }})

select
    source.npp,
    source.employer_name,
    left(source.district_code, 2) as province_code,
    source.district_code,
    source.size_code,
    sizes.size_class,
    source.workforce
from source
left join sizes on source.size_code = sizes.code
