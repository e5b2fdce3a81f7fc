with source as (select * from {{ source('raw', 'iuran') }})

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
