{{ config(
    materialized='incremental',
    incremental_strategy='upsert',
    unique_key='kpj',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['kpj'], 'unique': true}, {'columns': ['person_key']}, {'columns': ['branches']}],
    fillfactor=90,
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants(
        'delete from ' ~ this ~ ' where kpj = any(array(select kpj from ' ~ ref('int_participant_changes')
        ~ \" where change = 'removed'))\") }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_participants_replaced') }}
-- depends_on: {{ ref('int_participants_rewritten') }}

-- The participants on D: every KPJ once, from the current snapshots of all branches, transfers resolved
-- (contract 5.2-5.3, macros/participant_changes.sql). A night upserts the rows int_participants_rewritten
-- worked out for the KPJs int_participant_changes names, rewriting a changed row in place
-- (macros/upsert.sql), after deleting those a branch removed.
{% if is_incremental() and not participants_rebuilt() %}
select * from {{ ref('int_participants_rewritten') }}
{% else %}
{{ participants_on_snapshot_date() }}
{% endif %}
