-- The persons whose coverage this night's build works out again (the persons of the KPJs
-- int_participant_changes names, before and after the night), each with their row of int_persons_covered
-- as it stands before the build, if they had one, and the row they get now, if covered: int_persons_covered
-- replaces the first by the second, and int_village_person_counts takes the first off and adds the second.
-- Found and placed once here, where each of those models used to look every touched person up again (0.5-1 s
-- a time at 10 M participants). int_persons_covered depends on this model, so it is read before it changes.
-- Empty on a rebuild, and on a first build.
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_participants_rewritten') }}
{%- set built = prior_build_of('int_persons_covered') %}
{%- set participants = prior_build_of('int_participants_current') %}
{%- set placed_columns = 'person_key, kpj, village_code, is_vulnerable_worker, registered_on, status' %}
{% if built is none or participants is none or participants_rebuilt() %}
select
    null::text as person_key,
    null::boolean as was_covered,
    null::text as old_village_code,
    null::boolean as old_is_vulnerable_worker,
    null::boolean as is_covered,
    null::text as placing_kpj,
    null::text as village_code,
    null::boolean as is_vulnerable_worker
where false
{% else %}
with touched as ({{ persons_touched_by_changes() }}),

covered_before as (
    select person_key, village_code, is_vulnerable_worker from {{ built }}
    where person_key = any(array(select person_key from touched))
),

-- The touched persons' participants after the night: the rows int_participants_current gets, and its rows of
-- the KPJs that do not change. Read so, this model need not wait for int_participants_current, which the
-- build writes meanwhile (not a ref: it would wait); the rows read here are the same before and after.
participants_now as (
    select {{ placed_columns }} from {{ ref('int_participants_rewritten') }}
    union all
    select {{ placed_columns }} from {{ participants }} unchanged
    where person_key = any(array(select person_key from touched))
      and not exists (select from {{ ref('int_participant_changes') }} where kpj = unchanged.kpj)
),

covered_now as ({{ persons_placed('select * from participants_now') }})

select
    touched.person_key,
    covered_before.person_key is not null as was_covered,
    covered_before.village_code as old_village_code,
    covered_before.is_vulnerable_worker as old_is_vulnerable_worker,
    covered_now.person_key is not null as is_covered,
    covered_now.placing_kpj,
    covered_now.village_code,
    covered_now.is_vulnerable_worker
from touched
left join covered_before using (person_key)
left join covered_now using (person_key)
{% endif %}
