-- Every loaded payment with the village of the paying KPJ in the current snapshots on the payment's
-- export_date (marts contract: contributions_district_month). A payment whose KPJ is in no snapshot that
-- day keeps a null village: it is counted, never dropped.
with payments as (select * from {{ ref('stg_raw__iuran') }}),
participants as (select * from {{ ref('stg_raw__peserta') }}),
validity as (select * from {{ ref('int_delivery_validity') }}),

candidate_places as (
    select
        payments.payment_id,
        participants.village_code,
        participants.export_date,
        participants.branch_code
    from payments
    join participants
        on participants.kpj = payments.kpj
    join validity
        on validity.delivery_id = participants.delivery_id
        and validity.valid_from <= payments.export_date
        and (validity.valid_until is null or validity.valid_until > payments.export_date)
),

place_of_payment as (
    select distinct on (payment_id) payment_id, village_code
    from candidate_places
    order by payment_id, export_date desc, branch_code
)

select
    payments.payment_id,
    payments.period,
    payments.program,
    payments.funding_source,
    payments.amount_idr,
    payments.export_date,
    place_of_payment.village_code
from payments
left join place_of_payment using (payment_id)
