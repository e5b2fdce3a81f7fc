with source as (select * from {{ source('reference', 'branch_districts') }})

select
    kode_cabang as branch_code,
    district_code
from source
