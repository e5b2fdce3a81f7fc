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
-- depends_on: {{ ref('int_delivery_validity') }}

-- The participants on D: every KPJ once, from the current snapshots of all branches (contract 5.2-5.3).
-- A KPJ in several current snapshots was transferred: the latest export_date wins, then the branch
-- code that sorts first. A night recomputes only the KPJs int_participant_changes names and upserts them,
-- rewriting a changed row in place (macros/upsert.sql), after deleting those a branch removed; `branches` counts
-- the snapshots holding the KPJ, so the next night finds the transferred ones without reading them all.
-- No column may change when the participant does not: not the snapshot's export date, which moves each night.
with branch_rows as (
    select * from {{ ref('int_branch_participants') }}
    {% if is_incremental() and not participants_rebuilt() %}
    where kpj = any(array(select kpj from {{ ref('int_participant_changes') }}))
    {% endif %}
),

current_snapshots as ({{ current_branch_snapshot_dates() }}),

candidates as (
    select
        branch_rows.*,
        current_snapshots.export_date,
        count(*) over (partition by branch_rows.kpj) as branches
    from branch_rows
    join current_snapshots using (branch_code)
)

select distinct on (kpj)
    kpj,
    person_key,
    branch_code,
    segment,
    funding_source,
    occupation,
    village_code,
    registered_on,
    status,
    segment = 'BPU' and funding_source in {{ vulnerable_funding_sources() }} as is_vulnerable_worker,
    branches::integer as branches
from candidates
order by kpj, export_date desc, branch_code
