-- Each payment the last build counted is counted once: on every export date that build wrote, the payments add
-- up to the payments delivered on that date (a join that matched a payment twice, or lost one, shows here).
-- Only the dates the build wrote are read, through the model's index on attributed_at, not every payment ever.
with counted as (
    select export_date, sum(payments) as payments
    from {{ ref('int_contributions_by_export_date') }}
    where attributed_at = (select max(attributed_at) from {{ ref('int_contributions_by_export_date') }})
    group by export_date
),

delivered as (
    select export_date, count(*) as payments
    from {{ ref('stg_raw__iuran') }}
    where export_date = any(array(select export_date from counted))
    group by export_date
)

select export_date, counted.payments as counted, delivered.payments as delivered
from counted
left join delivered using (export_date)
where counted.payments is distinct from delivered.payments
