select
    kode_cabang as branch_code,
    district_code
from {{ source('reference', 'branch_districts') }}
