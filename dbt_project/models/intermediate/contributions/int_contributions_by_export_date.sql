{{ config(
    materialized='incremental',
    incremental_strategy='append',
    post_hook=["{{ ensure_index(['export_date']) }}", "{{ ensure_index(['attributed_at']) }}"],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where export_date >= {{ first_export_date_to_attribute() }}{% endif %}"
) }}
-- depends_on: {{ ref('stg_raw__deliveries') }}

-- Payments per export date, month covered, district, program and funding source, each payment placed in the
-- village of the paying KPJ in the current snapshots on the payment's export date (marts contract:
-- contributions_district_month adds the dates up). A payment whose KPJ is in no snapshot that day keeps null
-- codes: it is counted, never dropped. Each payment counts once: raw.iuran holds an id_transaksi once
-- (unique index; the loader quarantines one seen again), and each is placed in one village.
-- Incremental: payments only ever arrive, and a payment's place can only move when a branch delivers a
-- snapshot for its date or earlier. So a night deletes and counts again only the export dates from the
-- earliest one among the deliveries new since the last build (macros/payment_attribution.sql), placing their
-- payments against only the snapshots current on or after that date, instead of every payment ever against
-- every snapshot kept. The places are counted as they are found, not stored a payment a row: writing the
-- night's payments again (through dbt's temporary table, into an indexed table) took most of their placing's
-- time (docs/decisions.md, change 13), and the table would have grown as raw.iuran does.
-- A payment of the night's own date D is placed by int_participants_current, which is the current
-- snapshots on D with the transfer rule applied: a lookup by KPJ, instead of matching the night's payments
-- against every row of the night's snapshots (docs/decisions.md, change 8). Payments of other dates (late
-- deliveries, a backfill) are matched against the snapshots current on their own date; a night with none
-- skips that.
{% set first_export_date = first_export_date_to_attribute() %}
{% set only_the_night = is_incremental() and not deliveries_dated_other_than(first_export_date) %}
-- A night's payments are found by a range of raw.iuran's index on delivery_id, from the first delivery of those
-- dates, as deliveries are numbered as they are loaded: through the join with the deliveries alone the planner
-- read every payment kept (docs/decisions.md, change 15).
-- The linter takes the incremental filter below for two layouts at once, and the columns of its scalar
-- subquery on the deliveries for ambiguous ones.
-- noqa: disable=LT02,RF02
with payments as (
    select * from {{ ref('stg_raw__iuran') }}
    where
        export_date >= {{ first_export_date }}
        {%- if is_incremental() %}
        and delivery_id >= (
            select min(delivery_id) from {{ ref('stg_raw__deliveries') }}
            where export_date >= {{ first_export_date }}
        )
        {%- endif %}
),
-- noqa: enable=LT02,RF02

participants_on_the_night as (
    select
        kpj,
        village_code
    from {{ ref('int_participants_current') }}
),

villages as (select * from {{ ref('stg_reference__villages') }}),

{% if only_the_night %}
-- Every payment to place is of the night's own date: each looks up its KPJ, in one pass over the payments.
placed as (
    select
        payments.*,
        participants_on_the_night.village_code
    from payments
    left join participants_on_the_night using (kpj)
)
{% else %}
placed_on_the_night as (
    select
        payments.payment_id,
        participants_on_the_night.village_code
    from payments
    inner join participants_on_the_night using (kpj)
    where payments.export_date = {{ snapshot_date() }}
),

validity as (
    select * from {{ ref('int_delivery_validity') }}
    where valid_until is null or valid_until > {{ first_export_date }}
),

-- Deliveries are numbered as they are loaded, so the snapshots still current from that date on were all
-- loaded since the oldest of them: a range PostgreSQL reads through raw.peserta's BRIN index, not every
-- snapshot kept. A range, not `= ANY (ARRAY(...))`: the planner cannot size an array it has not seen and
-- guessed 3 % of the rows, then hashed the participants instead of the payments and was the night's
-- slowest model (docs/decisions.md, Measured).
participants as (
    select * from {{ ref('stg_raw__peserta') }}
    where delivery_id >= (select min(delivery_id) from validity)  -- noqa: RF02
),

candidate_places as (
    select
        payments.payment_id,
        participants.village_code,
        participants.export_date,
        participants.branch_code
    from payments
    inner join participants
        on payments.kpj = participants.kpj
    inner join validity
        on
            participants.delivery_id = validity.delivery_id
            and payments.export_date >= validity.valid_from
            and (validity.valid_until is null or payments.export_date < validity.valid_until)
    where payments.export_date <> {{ snapshot_date() }}
),

placed_by_snapshots as (
    select distinct on (payment_id)
        payment_id,
        village_code
    from candidate_places
    order by payment_id asc, export_date desc, branch_code asc
),

place_of_payment as (
    select * from placed_on_the_night
    union all
    select * from placed_by_snapshots
),

placed as (
    select
        payments.*,
        place_of_payment.village_code
    from payments
    left join place_of_payment using (payment_id)
)
{% endif %}

select
    placed.export_date,
    placed.period,
    villages.province_code,
    villages.district_code,
    placed.program,
    placed.funding_source,
    count(*)::integer as payments,
    sum(placed.amount_idr)::bigint as amount_idr,
    now() as attributed_at
from placed
left join villages using (village_code)
group by
    placed.export_date, placed.period, villages.province_code, villages.district_code, placed.program,
    placed.funding_source
