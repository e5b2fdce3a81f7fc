-- Employers' covered workers never exceed the PU and JAKON participations of the day (award-v2.md section 4): a
-- person counts at an employer through an AKTIF KPJ of that employer, so every (employer, person) pair needs
-- a KPJ of its own, and the employers of a year together count at most the AKTIF PU and JAKON KPJ of the
-- year's snapshot (participation_district). A person counted twice at one employer, or at an employer they do
-- not work for, can break it.
with employers as (
    select
        year,
        snapshot_date,
        sum(covered_workers) as covered_workers
    from {{ ref('award_employer') }}
    group by year, snapshot_date
),

participations as (
    select
        snapshot_date,
        sum(active_participations) as active_participations
    from {{ ref('participation_district') }}
    where segment in ('PU', 'JAKON')
    group by snapshot_date
)

select
    employers.year,
    employers.covered_workers,
    participations.active_participations
from employers
inner join participations on employers.snapshot_date = participations.snapshot_date
where employers.covered_workers > participations.active_participations
