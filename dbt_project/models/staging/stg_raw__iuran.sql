with source as (select * from {{ source('raw', 'iuran') }}),

-- Only deliveries that passed the raw quality gate reach the marts: stg_raw__deliveries holds just those,
-- with the branch and export date every payment of the delivery shares.
gated as (
    select
        delivery_id,
        branch_code,
        export_date
    from {{ ref('stg_raw__deliveries') }}
)

select
    source.delivery_id,
    gated.branch_code,
    gated.export_date,
    source.id_transaksi as payment_id,
    source.kpj,
    source.periode as period,
    source.program,
    source.jumlah as amount_idr,
    source.tanggal_bayar as paid_on,
    source.sumber_iuran as funding_source
from source
inner join gated on source.delivery_id = gated.delivery_id
