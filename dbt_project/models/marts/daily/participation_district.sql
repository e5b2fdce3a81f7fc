{{ config(indexes=[{'columns': ['snapshot_date', 'district_code']}]) }}

-- Active participations on D (KPJ, not persons: contract 5.4) by district of domicile, segment,
-- funding source and occupation; only combinations that have any.
with participants as (select * from {{ ref('int_participants_current') }}),
villages as (select * from {{ ref('stg_reference__villages') }})

select
    {{ snapshot_date() }} as snapshot_date,
    villages.province_code,
    villages.district_code,
    participants.segment,
    participants.funding_source,
    participants.occupation,
    count(*)::integer as active_participations
from participants
join villages using (village_code)
where participants.status = 'AKTIF'
group by villages.province_code, villages.district_code, participants.segment, participants.funding_source,
    participants.occupation
