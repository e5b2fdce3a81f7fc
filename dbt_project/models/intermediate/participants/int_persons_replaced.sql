-- The persons whose coverage this night's build works out again (the persons of the KPJs
-- int_participant_changes names, before and after the night), each with their row of int_persons_covered
-- as it stands before the build, if they had one, and the row they get now, if covered: int_persons_covered
-- replaces the first by the second, and int_village_person_counts takes the first off and adds the second.
-- Found and placed once here, where each of those models used to look every touched person up again
-- (docs/decisions.md, changes 13 and 14). Empty on a rebuild, and on a first build.
-- Both rows are placed from the touched persons' participants, before the night and after: their KPJs that do
-- not change (one lookup), with the rows int_participants_current replaces (int_participants_replaced) or
-- gets (int_participants_rewritten). Placed so, the row before is the one int_persons_covered holds (it is
-- persons_placed of int_participants_current), without looking the persons up there too (docs/decisions.md,
-- change 17).
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_participants_replaced') }}
-- depends_on: {{ ref('int_participants_rewritten') }}
{%- set built = prior_build_of('int_persons_covered') %}
{%- set participants = prior_build_of('int_participants_current') %}
{%- set placed_columns = 'person_key, kpj, village_code, is_vulnerable_worker, registered_on, status, '
                         ~ 'nik_district_code' %}
{% if built is none or participants is none or participants_rebuilt() %}
select
    null::text as person_key,
    null::boolean as was_covered,
    null::text as old_village_code,
    null::boolean as old_is_vulnerable_worker,
    null::boolean as is_covered,
    null::text as placing_kpj,
    null::text as village_code,
    null::boolean as is_vulnerable_worker,
    null::text as old_nik_district_code,
    null::text as nik_district_code
where false
{% else %}
with touched as ({{ persons_touched_by_changes() }}),

changed_kpjs as (select kpj from {{ ref('int_participant_changes') }}),

-- The touched persons' KPJs that the night does not change: the same rows before and after the upsert, so
-- this model need not wait for int_participants_current, which the build writes meanwhile (not a ref: it
-- would wait).
unchanged as (
    select {{ placed_columns }} from {{ participants }} as unchanged
    where
        person_key = any(array(select touched.person_key from touched))
        and not exists (
            select from changed_kpjs
            where changed_kpjs.kpj = unchanged.kpj
        )
),

participants_before as (
    select {{ placed_columns }} from {{ ref('int_participants_replaced') }}
    union all
    select * from unchanged
),

participants_now as (
    select {{ placed_columns }} from {{ ref('int_participants_rewritten') }}
    union all
    select * from unchanged
),

covered_before as ({{ persons_placed('select * from participants_before') }}),

covered_now as ({{ persons_placed('select * from participants_now') }})

select
    touched.person_key,
    covered_before.person_key is not null as was_covered,
    covered_before.village_code as old_village_code,
    covered_before.is_vulnerable_worker as old_is_vulnerable_worker,
    covered_now.person_key is not null as is_covered,
    covered_now.placing_kpj,
    covered_now.village_code,
    covered_now.is_vulnerable_worker,
    covered_before.nik_district_code as old_nik_district_code,
    covered_now.nik_district_code
from touched
left join covered_before using (person_key)
left join covered_now using (person_key)
{% endif %}
