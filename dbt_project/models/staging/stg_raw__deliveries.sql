with source as (select * from {{ source('raw', 'deliveries') }})

select
    delivery_id,
    kode_cabang as branch_code,
    export_date,
    participants_compared_with,
    loaded_at,
    raw_gate_passed_at as gated_at
from source
-- Only deliveries that passed the raw quality gate reach the marts.
where raw_gate_passed_at is not null
