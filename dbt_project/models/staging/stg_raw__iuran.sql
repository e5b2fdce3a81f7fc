with source as (select * from {{ source('raw', 'iuran') }}),

-- Only deliveries that passed the raw quality gate reach the marts: stg_raw__deliveries holds just those.
gated as (select delivery_id from {{ ref('stg_raw__deliveries') }})

select
    delivery_id,
    kode_cabang as branch_code,
    export_date,
    id_transaksi as payment_id,
    kpj,
    periode as period,
    program,
    jumlah as amount_idr,
    tanggal_bayar as paid_on,
    sumber_iuran as funding_source
from source
where delivery_id in (select delivery_id from gated)
