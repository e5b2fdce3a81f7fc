-- The rubric's indicators, one row per level and indicator (award/rubric.yml, via reference.award_rubric).
with source as (select * from {{ source('reference', 'award_rubric') }})

select
    source.version as rubric_version,
    levels.key as level,
    entry ->> 'indicator' as indicator,
    (entry ->> 'weight')::numeric as weight,
    entry ->> 'normalisation' as normalisation
from source
cross join lateral jsonb_each(source.rubric -> 'indicators') as levels
cross join lateral jsonb_array_elements(levels.value) as entry
