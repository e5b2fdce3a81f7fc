with source as (select * from {{ source('raw', 'peserta_changes') }})

-- Not filtered by the raw gate here: int_participant_changes reads a delivery's changes only when the
-- delivery is a branch's current snapshot, which it is only once it passed the gate.
select
    delivery_id,
    previous_delivery_id,
    kpj,
    change,
    previous_nik_hash as old_person_key,
    nik_hash as person_key,
    segmen as segment,
    sumber_iuran as funding_source,
    pekerjaan as occupation,
    kode_desa as village_code,
    tanggal_daftar as registered_on,
    status,
    nik_district as nik_district_code,
    npp as employer_npp,
    full_program as has_full_program,
    npp_pemberi_bantuan as csr_employer_npp
from source
