with source as (select * from {{ source('raw', 'peserta') }}),

-- Only deliveries that passed the raw quality gate reach the marts: stg_raw__deliveries holds just those.
gated as (select delivery_id from {{ ref('stg_raw__deliveries') }})

select
    delivery_id,
    kode_cabang as branch_code,
    export_date,
    kpj,
    nik_hash as person_key,
    jenis_kelamin as sex,
    segmen as segment,
    program as programs,
    kode_desa as village_code,
    npp as employer_number,
    pekerjaan as occupation,
    sumber_iuran as funding_source,
    tanggal_daftar as registered_on,
    status,
    iuran_terakhir as last_paid_period,
    upah as wage_idr
from source
where delivery_id in (select delivery_id from gated)
