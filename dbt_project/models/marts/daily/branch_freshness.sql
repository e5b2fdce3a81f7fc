{{ config(indexes=[{'columns': ['snapshot_date', 'branch_code'], 'unique': true}]) }}

-- Every branch office on D: the export date of the snapshot it counts with, how late that is, and what the
-- night made of it, for operators and BI tools alike (intermediate models are not readable by cakupan_bi).
-- A branch past the error limit fails the night's dbt build, so a published D never shows one.
with freshness as (select * from {{ ref('int_branch_freshness') }}),

branches as (select * from {{ ref('stg_reference__branches') }})

select
    {{ snapshot_date() }} as snapshot_date,
    freshness.branch_code,
    branches.branch_name,
    branches.regional_office,
    freshness.current_snapshot_date,
    freshness.days_since_delivery,
    freshness.is_stale,
    case
        when freshness.current_snapshot_date is null then 'never_delivered'
        when not freshness.is_stale then 'on_time'
        when freshness.days_since_delivery <= {{ var('branch_late_warn_days') }} then 'late'
        else 'overdue'
    end as freshness_status
from freshness
inner join branches using (branch_code)
