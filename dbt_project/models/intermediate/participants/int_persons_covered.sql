{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['person_key'], 'unique': true}],
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants(
        'delete from ' ~ this ~ ' where person_key = any(array(select person_key from '
        ~ ref('int_persons_replaced') ~ ' where was_covered))') }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_persons_replaced') }}

-- Covered persons on D and where they count (contract 5.4-5.5): a person (NIK) is covered when at least
-- one of their KPJ is AKTIF, and is placed in the village of the AKTIF KPJ registered last
-- (tie: the smallest KPJ). The placing KPJ decides whether the person counts as a vulnerable worker.
-- A night writes only the persons its changes touch, as int_persons_replaced placed them.
{% if is_incremental() and not participants_rebuilt() %}
select
    person_key,
    placing_kpj,
    village_code,
    is_vulnerable_worker,
    nik_district_code
from {{ ref('int_persons_replaced') }}
where is_covered
{% else %}
{{ persons_placed('select * from ' ~ ref('int_participants_current')) }}
{% endif %}
