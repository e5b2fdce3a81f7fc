{{ config(indexes=[{'columns': ['period', 'district_code']}]) }}

-- Payments per month covered, district, program and funding source, over every loaded payment.
-- Payments whose KPJ is in no current snapshot on their date keep null codes: kept, never dropped.
with payments as (select * from {{ ref('int_payments_attributed') }}),
villages as (select * from {{ ref('stg_reference__villages') }})

select
    payments.period,
    villages.province_code,
    villages.district_code,
    payments.program,
    payments.funding_source,
    count(distinct payments.payment_id)::integer as payments,
    sum(payments.amount_idr)::bigint as amount_idr
from payments
left join villages using (village_code)
group by payments.period, villages.province_code, villages.district_code, payments.program,
    payments.funding_source
