{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='year',
    unlogged=false,
    indexes=[{'columns': ['year', 'npp'], 'unique': true}]
) }}

-- The employer figures of the award (award-v2.md section 4) on D (int_employer_counts, kept night by night
-- with the participants layer), for every NPP that has any: what int_award_indicators_employer reads. An award
-- year is judged on its last snapshot, and the participants layer holds only D's, so each night keeps its
-- year's figures here, in place of the year's earlier ones, unless a later date of the year was counted already
-- (a backfill of an earlier date leaves them).
-- Logged, unlike the rest of the intermediate schema: a year's figures cannot be made again from the layer.
with counts as (select * from {{ ref('int_employer_counts') }})

select
    extract(year from {{ snapshot_date() }})::integer as year,
    {{ snapshot_date() }} as snapshot_date,
    npp,
    covered_workers,
    active_participations,
    full_program_participations,
    vulnerable_aided
from counts
where
    (covered_workers, active_participations, vulnerable_aided) <> (0, 0, 0)
    {% if is_incremental() %}
    -- A condition on no row: PostgreSQL checks it once, and copies nothing when a later date of the year is kept.
    and
    {{ snapshot_date() }} >= coalesce((
        select max(kept.snapshot_date) from {{ this }} as kept
        where kept.year = extract(year from {{ snapshot_date() }})::integer
    ), {{ snapshot_date() }})
    {% endif %}
