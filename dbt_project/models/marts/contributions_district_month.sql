{{ config(indexes=[{'columns': ['period', 'district_code']}]) }}

-- Payments per month covered, district, program and funding source, over every loaded payment: the sum of
-- int_contributions_by_export_date's export dates, which a night recounts only where payments moved.
-- Payments whose KPJ is in no current snapshot on their date keep null codes, and null names: kept, never
-- dropped (a left join, on a district code that identifies one district).
with contributions as (
    select
        period,
        province_code,
        district_code,
        program,
        funding_source,
        sum(payments)::integer as payments,
        sum(amount_idr)::bigint as amount_idr
    from {{ ref('int_contributions_by_export_date') }}
    group by period, province_code, district_code, program, funding_source
),

districts as (select * from {{ ref('stg_reference__districts') }})

select
    contributions.period,
    contributions.province_code,
    districts.province_name,
    contributions.district_code,
    districts.district_name,
    contributions.program,
    contributions.funding_source,
    contributions.payments,
    contributions.amount_idr
from contributions
left join districts using (district_code)
