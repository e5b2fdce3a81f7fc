{{ config(
    materialized='incremental',
    incremental_strategy='upsert',
    unique_key=['npp', 'person_key', 'counted_as'],
    indexes=[{'columns': ['npp', 'person_key', 'counted_as'], 'unique': true}],
    fillfactor=90,
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants() }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_employer_participations_changed') }}
-- depends_on: {{ ref('int_participants_current') }}

-- The participations on D that the award's employer level counts (award-v2.md section 4; macro
-- employer_participations), per (employer, person, counted as): a person counts at an employer once, however
-- many of their KPJ are there. A night adds the changes int_employer_participations_changed works out; a pair
-- a night takes to 0 stays as a row (a rebuild has none). A rebuild counts every participant.
{% if is_incremental() and not participants_rebuilt() %}
with changed as (select * from {{ ref('int_employer_participations_changed') }})

select
    changed.npp,
    changed.person_key,
    changed.counted_as,
    (coalesce(built.participations, 0) + changed.participations)::integer as participations,
    (coalesce(built.full_program_participations, 0) + changed.full_program_participations)::integer
        as full_program_participations
from changed
-- A lateral lookup, one index probe a changed pair: joined whole, the planner scanned every pair.
left join lateral (
    select
        pairs.participations,
        pairs.full_program_participations
    from {{ this }} as pairs
    where
        pairs.npp = changed.npp
        and pairs.person_key = changed.person_key
        and pairs.counted_as = changed.counted_as
) as built on true
{% else %}
select
    npp,
    person_key,
    counted_as,
    count(*)::integer as participations,
    (count(*) filter (where has_full_program))::integer as full_program_participations
from ({{ employer_participations('select * from ' ~ ref('int_participants_current')) }}) as counted
group by npp, person_key, counted_as
{% endif %}
