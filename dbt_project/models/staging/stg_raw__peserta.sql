with source as (select * from {{ source('raw', 'peserta') }}),

-- Only deliveries that passed the raw quality gate reach the marts: stg_raw__deliveries holds just those,
-- with the branch and export date every row of the delivery shares.
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
    source.kpj,
    source.nik_hash as person_key,
    source.segmen as segment,
    source.kode_desa as village_code,
    source.pekerjaan as occupation,
    source.sumber_iuran as funding_source,
    source.tanggal_daftar as registered_on,
    source.status,
    source.nik_district as nik_district_code,
    source.npp_pemberi_bantuan as csr_employer_npp,
    source.npp as employer_npp,
    source.full_program as has_full_program
from source
inner join gated on source.delivery_id = gated.delivery_id
