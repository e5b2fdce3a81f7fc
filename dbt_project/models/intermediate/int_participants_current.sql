-- The participants on D: every KPJ once, from the current snapshots of all branches (contract 5.2-5.3).
-- A KPJ in several current snapshots was transferred: the latest export_date wins, then the branch
-- code that sorts first.
with current_rows as (select * from {{ ref('int_current_snapshot_rows') }})

select distinct on (current_rows.kpj)
    current_rows.kpj,
    current_rows.person_key,
    current_rows.branch_code,
    current_rows.export_date,
    current_rows.segment,
    current_rows.funding_source,
    current_rows.occupation,
    current_rows.village_code,
    current_rows.registered_on,
    current_rows.status,
    current_rows.segment = 'BPU'
        and current_rows.funding_source in {{ vulnerable_funding_sources() }} as is_vulnerable_worker
from current_rows
order by current_rows.kpj, current_rows.export_date desc, current_rows.branch_code
