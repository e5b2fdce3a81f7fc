{{ config(
    materialized='incremental',
    incremental_strategy='append',
    post_hook=["{{ ensure_index(['export_date']) }}", "{{ ensure_index(['attributed_at']) }}"],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where export_date >= {{ first_export_date_to_attribute() }}{% endif %}"
) }}
-- depends_on: {{ ref('stg_raw__deliveries') }}

-- Payments per export date, month covered, district, program and funding source: what
-- contributions_district_month adds up. Kept by export date because that is how int_payments_attributed
-- places payments again: a night deletes and recounts only the export dates from the first one whose
-- payments it placed again (macros/payment_attribution.sql, read against this model's own last build, so a
-- build that stopped between the two models is caught up), instead of counting every payment ever loaded.
with payments as (
    select * from {{ ref('int_payments_attributed') }}
    {% if is_incremental() %}
    where export_date >= {{ first_export_date_to_attribute() }}
    {% endif %}
),

villages as (select * from {{ ref('stg_reference__villages') }})

select
    payments.export_date,
    payments.period,
    villages.province_code,
    villages.district_code,
    payments.program,
    payments.funding_source,
    count(*)::integer as payments,
    sum(payments.amount_idr)::bigint as amount_idr,
    now() as attributed_at
from payments
left join villages using (village_code)
group by payments.export_date, payments.period, villages.province_code, villages.district_code, payments.program,
    payments.funding_source
