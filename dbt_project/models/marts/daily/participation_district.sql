{{ config(indexes=[{'columns': ['snapshot_date', 'district_code']}]) }}

-- Active participations on D (KPJ, not persons: contract 5.4) by district of domicile, segment,
-- funding source and occupation; only combinations that have any.
with participations as (select * from {{ ref('int_participation_counts') }}),
villages as (select * from {{ ref('stg_reference__villages') }})

select
    {{ snapshot_date() }} as snapshot_date,
    villages.province_code,
    villages.district_code,
    participations.segment,
    participations.funding_source,
    participations.occupation,
    sum(participations.active_participations)::integer as active_participations
from participations
join villages using (village_code)
group by villages.province_code, villages.district_code, participations.segment, participations.funding_source,
    participations.occupation
having sum(participations.active_participations) > 0
