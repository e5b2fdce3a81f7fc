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

-- One row per eligible entity and rubric indicator: the rubric names a column of the indicator model, and a
-- value is read from the column of that name, as its text (so that a rubric naming a text column fails as it
-- would have). A CASE over the model's columns, not the row made JSON once and read back by name:
-- that took most of the largest award mart's build (docs/decisions.md, change 23).
indicator_values as materialized (
    select
        judged.year,
        judged.{{ key }},
        rubric.indicator,
        rubric.weight,
        rubric.normalisation,
        {% if indicator_columns -%}
        case rubric.indicator
            {%- for column in indicator_columns %}
            when '{{ column }}' then judged.{{ column }}::text::numeric
            {%- endfor %}
        end
        {%- else %}null::numeric{% endif %} as value
    from judged
    cross join rubric
    where judged.eligible
),

-- Each value on 0-1 among the eligible of the same year; a missing value scores 0.
normalised as (
    select
        year,
        {{ key }},
        weight,
        case
            when value is null then 0
            when normalisation = 'share' then least(greatest(value, 0), 1)
            when normalisation = 'max' then
                case when max(value) over same_indicator > 0
                     then greatest(value, 0) / max(value) over same_indicator else 0 end
            when normalisation = 'min_max' then
                case when max(value) over same_indicator > min(value) over same_indicator
                     then (value - min(value) over same_indicator)
                          / (max(value) over same_indicator - min(value) over same_indicator)
                     else 1 end
        end as normalised
    from indicator_values
    window same_indicator as (partition by year, indicator)
),

scores as (
    select year, {{ key }}, round(100 * sum(weight * normalised) / nullif(sum(weight), 0), 2) as score
    from normalised
    group by year, {{ key }}
),

ranked as (
    select
        judged.*,
        scores.score,
        case when judged.eligible then
            rank() over (partition by judged.year, {% for column in rank_within %}judged.{{ column }}, {% endfor %}judged.eligible
                         order by scores.score desc)
        end as award_rank,
        (select max(rubric_version) from rubric) as rubric_version
    from judged
    left join scores using (year, {{ key }})
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

{#- The columns of `indicators_model` as built: a rubric may name any of them as an indicator. A unit test's ref
    is its fixture, which has the columns of the model built (empty) before it; so the table is read there. -#}
{% macro award_indicator_columns(indicators_model) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set relation = ref(indicators_model) -%}
    {%- if model.resource_type == 'unit_test' -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=relation.schema or 'intermediate',
                                                identifier=indicators_model) -%}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | list) }}
{% endmacro %}
