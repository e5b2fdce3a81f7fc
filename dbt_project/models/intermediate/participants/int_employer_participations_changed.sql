-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_participants_replaced') }}
-- depends_on: {{ ref('int_participants_rewritten') }}

-- How this night's build changes each (employer, person) pair the award counts (macro employer_participations):
-- the participations int_participants_current gets (int_participants_rewritten) less those it replaces
-- (int_participants_replaced). int_employer_person_participations adds them to its pairs, and
-- int_employer_counts works out from them which pairs begin or end. Empty on a rebuild, and on a first build.
{% if prior_build_of('int_employer_person_participations') is none or participants_rebuilt() %}
select
    null::text as npp,
    null::text as person_key,
    null::text as counted_as,
    null::integer as participations,
    null::integer as full_program_participations
where false
{% else %}
with changes as (
    select
        npp,
        person_key,
        counted_as,
        1 as sign,
        has_full_program
    from ({{ employer_participations('select * from ' ~ ref('int_participants_rewritten')) }}) as gained
    union all
    select
        npp,
        person_key,
        counted_as,
        -1 as sign,
        has_full_program
    from ({{ employer_participations('select * from ' ~ ref('int_participants_replaced')) }}) as lost
)

select
    npp,
    person_key,
    counted_as,
    sum(sign)::integer as participations,
    coalesce(sum(sign) filter (where has_full_program), 0)::integer as full_program_participations
from changes
group by npp, person_key, counted_as
having sum(sign) <> 0 or coalesce(sum(sign) filter (where has_full_program), 0) <> 0
{% endif %}
