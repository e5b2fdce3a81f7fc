with source as (select * from {{ source('raw', 'deliveries') }})

select
    delivery_id,
    kode_cabang as branch_code,
    export_date,
    loaded_at
from source
