-- Covered persons on D and where they count (contract 5.4-5.5): a person (NIK) is covered when at least
-- one of their KPJ is AKTIF, and is placed in the village of the AKTIF KPJ registered last
-- (tie: the smallest KPJ). The placing KPJ decides whether the person counts as a vulnerable worker.
select distinct on (person_key)
    person_key,
    kpj as placing_kpj,
    village_code,
    is_vulnerable_worker
from {{ ref('int_participants_current') }}
where status = 'AKTIF'
order by person_key, registered_on desc, kpj
