{{ config(materialized='view') }}

-- Every participant's status and village over time, as spells per (KPJ, branch): a spell runs from the
-- export date of the first snapshot showing that state until the branch's next snapshot that differs
-- (valid_until null: still current). Built from the kept snapshots, so it answers any past date the same
-- way whatever order nights were run in. For a date X: valid_from <= X and (valid_until is null or
-- valid_until > X), then the transfer rule of int_participants_current (latest valid_from, first branch).
with participants as (select * from {{ ref('stg_raw__peserta') }}),

validity as (select * from {{ ref('int_delivery_validity') }}),

appearances as (
    select
        participants.kpj,
        participants.person_key,
        participants.branch_code,
        participants.status,
        participants.village_code,
        participants.segment,
        participants.funding_source,
        validity.valid_from,
        validity.valid_until
    from participants
    inner join validity using (delivery_id)
),

marked as (
    select
        *,
        case
            when (lag(valid_until) over spell_order is distinct from valid_from) then 1
            when (lag(status) over spell_order is distinct from status) then 1
            when (lag(village_code) over spell_order is distinct from village_code) then 1
            when (lag(segment) over spell_order is distinct from segment) then 1
            when (lag(funding_source) over spell_order is distinct from funding_source) then 1
            else 0
        end as starts_spell
    from appearances
    window spell_order as (partition by kpj, branch_code order by valid_from)
),

numbered as (
    select
        *,
        sum(starts_spell) over (partition by kpj, branch_code order by valid_from) as spell
    from marked
)

select
    kpj,
    person_key,
    branch_code,
    status,
    village_code,
    segment,
    funding_source,
    min(valid_from) as valid_from,
    case when bool_or(valid_until is null) then null else max(valid_until) end as valid_until
from numbered
group by kpj, person_key, branch_code, status, village_code, segment, funding_source, spell
