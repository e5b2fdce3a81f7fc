{{ config(
    indexes=[{'columns': ['snapshot_date', 'district_code']}],
    pre_hook="{{ add_names_to_earlier_dates('stg_reference__districts', 'district_code',
                                           ['province_name', 'district_name']) }}",
) }}

-- Active participations on D (KPJ, not persons: contract 5.4) by district of domicile, segment,
-- funding source and occupation; only combinations that have any.
with participations as (
    select * from {{ ref('int_participation_counts') }}
    where active_participations > 0
),

districts as (select * from {{ ref('stg_reference__districts') }})

select
    {{ snapshot_date() }} as snapshot_date,
    districts.province_code,
    participations.district_code,
    participations.segment,
    participations.funding_source,
    participations.occupation,
    participations.active_participations,
    districts.province_name,
    districts.district_name
from participations
inner join districts using (district_code)
