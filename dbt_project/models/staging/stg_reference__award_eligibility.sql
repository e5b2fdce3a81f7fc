-- Who may be ranked, per level (award/rubric.yml `eligibility`). A level without rules ranks everyone.
with source as (select * from {{ source('reference', 'award_rubric') }})

select
    source.version as rubric_version,
    levels.key as level,
    (levels.value ->> 'min_coverage_rate')::numeric as min_coverage_rate,
    (levels.value ->> 'min_vulnerable_persons')::integer as min_vulnerable_persons,
    (levels.value ->> 'min_workforce')::integer as min_workforce,
    (levels.value ->> 'min_covered_workers')::integer as min_covered_workers
from source
cross join lateral jsonb_each(coalesce(source.rubric -> 'eligibility', '{}'::jsonb)) as levels
