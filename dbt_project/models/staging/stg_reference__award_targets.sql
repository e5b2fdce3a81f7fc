-- The Universal Labour Coverage target rate of each year (award/rubric.yml `coverage_targets`).
with source as (select * from {{ source('reference', 'award_rubric') }})

select
    source.version as rubric_version,
    targets.key::integer as year,
    targets.value::numeric as coverage_target
from source
cross join lateral jsonb_each_text(coalesce(source.rubric -> 'coverage_targets', '{}'::jsonb)) as targets
