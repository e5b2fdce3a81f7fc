-- The village award's indicators for every award year, from the village coverage of the year's last snapshot.
with snapshots as (select * from {{ ref('int_award_snapshots') }}),

coverage as (select * from {{ ref('coverage_village') }})

select
    snapshots.year,
    snapshots.snapshot_date,
    coverage.province_code,
    coverage.province_name,
    coverage.district_code,
    coverage.district_name,
    coverage.village_code,
    coverage.village_name,
    coverage.covered_persons,
    coverage.vulnerable_persons,
    coverage.vulnerable_target,
    coverage.vulnerable_target_met,
    least(coverage.vulnerable_persons::numeric / nullif(coverage.vulnerable_target, 0), 1) as vulnerable_target_progress
from snapshots
inner join coverage on snapshots.snapshot_date = coverage.snapshot_date
