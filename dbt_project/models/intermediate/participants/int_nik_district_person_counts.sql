{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['village_code', 'nik_district_code'],
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants() }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_persons_replaced') }}
-- depends_on: {{ ref('int_participants_current') }}

-- Covered persons on D per village they are placed in and district that issued their NIK (award-v2.md section
-- 3): what coverage_district_nik reads. '' stands for a NIK of no known prefix (rows loaded before the loader
-- kept it), so that every key is a value a night can match. A night adds the persons int_persons_covered
-- rewrote and takes off those they replaced (int_persons_replaced), as int_village_person_counts does; a
-- rebuild counts them all.
{% if is_incremental() and not participants_rebuilt() %}
with changes as (
    select
        village_code,
        coalesce(nik_district_code, '') as nik_district_code,
        1 as sign
    from {{ ref('int_persons_replaced') }}
    where is_covered
    union all
    select
        old_village_code,
        coalesce(old_nik_district_code, '') as nik_district_code,
        -1 as sign
    from {{ ref('int_persons_replaced') }}
    where was_covered
),

net as (
    select
        village_code,
        nik_district_code,
        sum(sign) as covered_persons
    from changes
    group by village_code, nik_district_code
)

select
    net.village_code,
    net.nik_district_code,
    (coalesce(built.covered_persons, 0) + net.covered_persons)::integer as covered_persons
from net
left join {{ this }} as built using (village_code, nik_district_code)
{% else %}
select
    village_code,
    coalesce(nik_district_code, '') as nik_district_code,
    count(*)::integer as covered_persons
from {{ ref('int_persons_covered') }}
group by village_code, coalesce(nik_district_code, '')
{% endif %}
