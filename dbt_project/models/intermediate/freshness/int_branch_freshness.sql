-- Each expected branch's current snapshot on D; a branch is stale when that snapshot is older than D
-- or it has none (contract 5.2; marts stale_branches). days_since_delivery feeds the freshness tests
-- (warn after var branch_late_warn_days, error after branch_late_error_days) and the docs site.
with branches as (select * from {{ ref('stg_reference__branches') }}),

deliveries as (select * from {{ ref('stg_raw__deliveries') }})

select
    branches.branch_code,
    max(deliveries.export_date) as current_snapshot_date,
    coalesce(max(deliveries.export_date) < {{ snapshot_date() }}, true) as is_stale,
    {{ snapshot_date() }} - max(deliveries.export_date) as days_since_delivery
from branches
left join deliveries
    on
        branches.branch_code = deliveries.branch_code
        and deliveries.export_date <= {{ snapshot_date() }}
group by branches.branch_code
