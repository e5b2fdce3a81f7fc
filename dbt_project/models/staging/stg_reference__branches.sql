with source as (select * from {{ source('reference', 'branches') }})

select
    kode_cabang as branch_code,
    nama_cabang as branch_name,
    kanwil as regional_office
from source
