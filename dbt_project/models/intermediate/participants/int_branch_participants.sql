{{ config(
    materialized='incremental',
    incremental_strategy='upsert',
    unique_key=['kpj', 'branch_code'],
    indexes=[{'columns': ['kpj', 'branch_code'], 'unique': true}],
    fillfactor=90,
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants(
        'delete from ' ~ this ~ ' where kpj = any(array(select kpj from ' ~ ref('int_participant_changes')
        ~ \" where change = 'removed')) and (kpj, branch_code) in (select kpj, branch_code from \"
        ~ ref('int_participant_changes') ~ \" where change = 'removed')\") }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}

-- The current snapshots' rows, one per (branch, KPJ), without the snapshot's export date: what stays the same
-- from one night to the next when a participant does not change. A night deletes the rows removed and
-- upserts the rows added or changed (int_participant_changes), a changed row rewritten in place
-- (macros/upsert.sql); a rebuild copies every current row.
{% if is_incremental() and not participants_rebuilt() %}
select
    branch_code,
    kpj,
    person_key,
    segment,
    funding_source,
    occupation,
    village_code,
    registered_on,
    status,
    nik_district_code,
    employer_npp,
    has_full_program,
    csr_employer_npp
from {{ ref('int_participant_changes') }}
where change in ('added', 'changed')
{% else %}
select
    branch_code,
    kpj,
    person_key,
    segment,
    funding_source,
    occupation,
    village_code,
    registered_on,
    status,
    nik_district_code,
    employer_npp,
    has_full_program,
    csr_employer_npp
from {{ ref('int_current_snapshot_rows') }}
{% endif %}
