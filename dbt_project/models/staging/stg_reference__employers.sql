-- The employers of the award's business category (pemberi_kerja.csv, award-v2.md section 2). Province of the
-- seat from the district's code. The size class they compete in is int_award_indicators_employer's: a view
-- here that read the size-code seed would be dropped with it by every full refresh of the seeds.
with source as (select * from {{ source('reference', 'employers') }})

select
    npp,
    employer_name,
    left(district_code, 2) as province_code,
    district_code,
    size_code,
    workforce
from source
