-- The snapshots an award year is judged on: the year's last snapshot date, and for the change indicator the
-- latest snapshot on or before the same date one year earlier (null when there is none).
with dates as (select distinct snapshot_date from {{ ref('coverage_district') }}),

years as (
    select
        extract(year from snapshot_date)::integer as year,
        max(snapshot_date) as snapshot_date
    from dates
    group by 1
)

select
    years.year,
    years.snapshot_date,
    (
        select max(earlier.snapshot_date) from dates as earlier
        where earlier.snapshot_date <= (years.snapshot_date - interval '1 year')::date
    ) as year_before_snapshot_date
from years
