-- The participants on D: every KPJ once, from the current snapshots of all branches (contract 5.2-5.3).
-- A KPJ in several current snapshots was transferred: the latest export_date wins, then the branch
-- code that sorts first.
with participants as (select * from {{ ref('stg_raw__peserta') }}),

current_deliveries as (
    select delivery_id
    from {{ ref('int_delivery_validity') }}
    where valid_from <= {{ snapshot_date() }}
      and (valid_until is null or valid_until > {{ snapshot_date() }})
)

select distinct on (participants.kpj)
    participants.kpj,
    participants.person_key,
    participants.branch_code,
    participants.export_date,
    participants.segment,
    participants.funding_source,
    participants.occupation,
    participants.village_code,
    participants.registered_on,
    participants.status,
    participants.segment = 'BPU'
        and participants.funding_source in {{ vulnerable_funding_sources() }} as is_vulnerable_worker
from participants
join current_deliveries using (delivery_id)
order by participants.kpj, participants.export_date desc, participants.branch_code
