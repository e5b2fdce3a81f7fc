{#- Scores and ranks the entities of one award level with the rubric in force (award/rubric.yml): every row
    of `indicators_model` with `eligible`, `score` (0-100, null when not eligible) and `award_rank` (1 = best
    within `rank_within`, or nationally when it is none; equal scores share a rank; null when not eligible).
    With a `rank_within` (a column, or a list of them), also `national_rank`: the second tier (contract
    award-v2 section 4), the rank among the year's winners of their `rank_within` (award_rank = 1), null for the
    others, within `national_within` (columns: businesses compete within their size class at both tiers).
    `eligible` is a SQL condition over `indicators` and the level's `eligibility` rules. -#}
{% macro award_scores(indicators_model, level, key, eligible, rank_within=none, national_within=[]) %}
{%- set rank_within = [rank_within] if rank_within is string else (rank_within or []) -%}
{%- set indicator_columns = award_indicator_columns(indicators_model) -%}
with indicators as (select * from {{ ref(indicators_model) }}),
rubric as (select * from {{ ref('stg_reference__award_indicators') }} where level = '{{ level }}'),
eligibility as (select * from {{ ref('stg_reference__award_eligibility') }} where level = '{{ level }}'),

-- A level the rubric gives no indicator (an optional one: award_rubric.py) ranks nobody.
judged as (
    select indicators.*, coalesce({{ eligible }}, false) and exists (select from rubric) as eligible
    from indicators
    left join eligibility on true
),

-- The rubric as one row: for the i-th column of the indicator model, the weight and normalisation the rubric
-- gives it (null: not an indicator). A rubric names each indicator once (award_rubric.py). The rubric is read
-- as data, when the query runs, so that the what-if can score with another one; only the columns it may name
-- are known when compiling. Each entity is scored from its own row, not from a row per entity and indicator
-- grouped back (docs/decisions.md, change 25).
weights as (
    select
        {%- for column in indicator_columns %}
        sum(weight) filter (where indicator = '{{ column.name }}') as weight_{{ loop.index }},
        max(normalisation) filter (where indicator = '{{ column.name }}') as normalisation_{{ loop.index }},
        {%- endfor %}
        sum(weight) as total_weight,
        max(rubric_version) as rubric_version
    from rubric
),

-- Each indicator's range among the eligible of the same year.
ranges as (
    select
        judged.year{% for column in indicator_columns %},
        max({{ award_indicator_value('judged', column) }}) filter (where weights.weight_{{ loop.index }} is not null)
            as max_{{ loop.index }},
        min({{ award_indicator_value('judged', column) }}) filter (where weights.weight_{{ loop.index }} is not null)
            as min_{{ loop.index }}
        {%- endfor %}
    from judged
    cross join weights
    where judged.eligible
    group by judged.year
),

-- Each indicator's value on 0-1 among the eligible of the same year (a missing value scores 0), weighted.
scores as (
    select
        judged.*,
        case when judged.eligible then round(100 * (0
            {%- for column in indicator_columns %}
            {%- set value = award_indicator_value('judged', column) %}
            {%- set i = loop.index %}
            + case when weights.weight_{{ i }} is null then 0 else weights.weight_{{ i }} * case
                when {{ value }} is null then 0
                when weights.normalisation_{{ i }} = 'share' then least(greatest({{ value }}, 0), 1)
                when weights.normalisation_{{ i }} = 'max' then
                    case when ranges.max_{{ i }} > 0 then greatest({{ value }}, 0) / ranges.max_{{ i }} else 0 end
                when weights.normalisation_{{ i }} = 'min_max' then
                    case when ranges.max_{{ i }} > ranges.min_{{ i }}
                         then ({{ value }} - ranges.min_{{ i }}) / (ranges.max_{{ i }} - ranges.min_{{ i }})
                         else 1 end
            end end
            {%- endfor %}
        ) / nullif(weights.total_weight, 0), 2) end as score,
        weights.rubric_version
    from judged
    cross join weights
    left join ranges on judged.year = ranges.year
),

ranked as (
    select
        scores.*,
        case when scores.eligible then
            rank() over (partition by scores.year, {% for column in rank_within %}scores.{{ column }}, {% endfor %}scores.eligible
                         order by scores.score desc)
        end as award_rank
    from scores
)

select
    ranked.*{% if rank_within %},
    -- Tied winners of one province are all winners, and each goes on to the national tier.
    case when ranked.award_rank = 1 then
        rank() over (partition by ranked.year, {% for column in national_within %}ranked.{{ column }}, {% endfor %}ranked.award_rank = 1
                     order by ranked.score desc)
    end as national_rank{% endif %}
from ranked
{% endmacro %}

{#- An indicator column's value as numeric. Other types through their text, so that the query compiles whatever
    the model's columns, and a rubric naming a date or a text column fails when scoring, saying which value. -#}
{% macro award_indicator_value(relation_alias, column) -%}
    {{ relation_alias }}.{{ column.name }}::{{ 'numeric' if column.is_integer() or column.is_numeric() else 'text::numeric' }}
{%- endmacro %}

{#- The columns of `indicators_model` as built: a rubric may name any of them as an indicator. A unit test's ref
    is its fixture, which has the columns of the model built (empty) before it; so the table is read there. -#}
{% macro award_indicator_columns(indicators_model) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set relation = ref(indicators_model) -%}
    {%- if model.resource_type == 'unit_test' -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=relation.schema or 'intermediate',
                                                identifier=indicators_model) -%}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation)) }}
{% endmacro %}
