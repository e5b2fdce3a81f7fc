-- The award indicators of every employer of the reference for every award year (award-v2.md section 4), on
-- the year's last snapshot (int_award_snapshots) as the other levels. Every column here can be named as an
-- indicator of the employer level in award/rubric.yml. A year whose last snapshot was never counted for
-- employers (nights from before the employer level) has no figures: null, not 0.
with snapshots as (select * from {{ ref('int_award_snapshots') }}),

employers as (select * from {{ ref('stg_reference__employers') }}),

districts as (select * from {{ ref('stg_reference__districts') }}),

-- Small and micro businesses compete together (employer_size_codes).
sizes as (select * from {{ ref('employer_size_codes') }}),

workers as (select * from {{ ref('int_award_employer_workers') }}),

counted as (
    select distinct
        year,
        snapshot_date
    from workers
),

figures as (
    select
        snapshots.year,
        snapshots.snapshot_date,
        counted.year is not null as counted,
        employers.npp,
        employers.employer_name,
        sizes.size_class,
        employers.province_code,
        districts.province_name,
        employers.district_code,
        districts.district_name,
        employers.workforce,
        workers.covered_workers,
        workers.active_participations,
        workers.full_program_participations,
        workers.vulnerable_aided
    from snapshots
    cross join employers
    left join districts on employers.district_code = districts.district_code
    left join sizes on employers.size_code = sizes.code
    left join counted on snapshots.year = counted.year and snapshots.snapshot_date = counted.snapshot_date
    left join workers
        on
            counted.year = workers.year
            and employers.npp = workers.npp
)

select
    year,
    snapshot_date,
    npp,
    employer_name,
    size_class,
    province_code,
    province_name,
    district_code,
    district_name,
    workforce,
    case when counted then coalesce(covered_workers, 0) end as covered_workers,
    case when counted then coalesce(covered_workers, 0) end::numeric / nullif(workforce, 0) as coverage_rate,
    full_program_participations::numeric / nullif(active_participations, 0) as full_program_share,
    case when counted then coalesce(vulnerable_aided, 0) end as vulnerable_aided,
    case when counted then coalesce(vulnerable_aided, 0) end * 100.0
    / nullif(workforce, 0) as vulnerable_aided_per_100_workforce
from figures
