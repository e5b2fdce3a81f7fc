{{ config(materialized='view') }}

-- Every row of the branch snapshots current on D (contract 5.2), before the transfer rule keeps one row per
-- KPJ. A view: int_participants_current reads it once, and the staging gate (expectations/,
-- staging_participants_snapshot) reads it as a table asset, so GX learns its columns from the catalogue
-- instead of running it whole.
with participants as (select * from {{ ref('stg_raw__peserta') }}),

current_deliveries as (
    select delivery_id
    from {{ ref('int_delivery_validity') }}
    where
        valid_from <= {{ snapshot_date() }}
        and (valid_until is null or valid_until > {{ snapshot_date() }})
)

select participants.*
from participants
inner join current_deliveries using (delivery_id)
