{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='year',
    unlogged=false,
    indexes=[{'columns': ['year', 'npp'], 'unique': true}]
) }}

-- The employer figures of the award (award-v2.md section 4), counted on D from the participants of D
-- (int_participants_current: transfers resolved, contract 5.3), for every NPP that has any: what
-- int_award_indicators_employer reads. An award year is judged on its last snapshot, and the participants
-- layer holds only D's, so each night keeps its year's figures here, in place of the year's earlier ones,
-- unless a later date of the year was counted already (a backfill of an earlier date leaves them).
-- Logged, unlike the rest of the intermediate schema: a year's figures cannot be made again from the layer.
with participants as (
    select
        person_key,
        segment,
        funding_source,
        employer_npp,
        has_full_program,
        csr_employer_npp,
        is_vulnerable_worker
    from {{ ref('int_participants_current') }}
    where status = 'AKTIF'
),

-- A person working for two employers counts at both; two KPJ of one person at one employer count once.
own_workers as (
    select
        employer_npp as npp,
        count(distinct person_key) as covered_workers,
        count(*) as active_participations,
        count(*) filter (where has_full_program) as full_program_participations
    from participants
    where segment in ('PU', 'JAKON') and employer_npp is not null
    group by employer_npp
),

-- Vulnerable workers (contract section 3) whose contribution the employer pays as CSR (export v1.1).
aided as (
    select
        csr_employer_npp as npp,
        count(distinct person_key) as vulnerable_aided
    from participants
    where is_vulnerable_worker and funding_source = 'CSR' and csr_employer_npp is not null
    group by csr_employer_npp
)

select
    extract(year from {{ snapshot_date() }})::integer as year,
    {{ snapshot_date() }} as snapshot_date,
    coalesce(own_workers.npp, aided.npp) as npp,
    coalesce(own_workers.covered_workers, 0)::integer as covered_workers,
    coalesce(own_workers.active_participations, 0)::integer as active_participations,
    coalesce(own_workers.full_program_participations, 0)::integer as full_program_participations,
    coalesce(aided.vulnerable_aided, 0)::integer as vulnerable_aided
from own_workers
full join aided on own_workers.npp = aided.npp
{% if is_incremental() %}
-- A condition on no row: PostgreSQL checks it once, and counts nothing when a later date of the year is kept.
where
    {{ snapshot_date() }} >= coalesce((
        select max(kept.snapshot_date) from {{ this }} as kept
        where kept.year = extract(year from {{ snapshot_date() }})::integer
    ), {{ snapshot_date() }})
{% endif %}
