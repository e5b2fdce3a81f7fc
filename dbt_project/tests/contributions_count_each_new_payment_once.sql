-- Each payment the last build counted is counted once: on every export date that build wrote, the payments add
-- up to the payments delivered on that date (a join that matched a payment twice, or lost one, shows here).
-- Only the dates the build wrote are read, through the model's index on attributed_at, not every payment ever.
with contributions as (select * from {{ ref('int_contributions_by_export_date') }}),

last_build as (select max(attributed_at) as attributed_at from {{ ref('int_contributions_by_export_date') }}),

payments as (select * from {{ ref('stg_raw__iuran') }}),

counted as (
    select
        contributions.export_date,
        sum(contributions.payments) as payments
    from contributions
    where contributions.attributed_at = (select last_build.attributed_at from last_build)
    group by contributions.export_date
),

delivered as (
    select
        payments.export_date,
        count(*) as payments
    from payments
    where payments.export_date = any(array(select counted.export_date from counted))
    group by payments.export_date
)

select
    export_date,
    counted.payments as counted,
    delivered.payments as delivered
from counted
left join delivered using (export_date)
where counted.payments is distinct from delivered.payments
