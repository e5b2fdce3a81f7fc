-- Every indicator of the rubric in force names a numeric column of its level's indicator model
-- (int_award_indicators_<level>): a misspelt indicator would otherwise give every entity of that level no
-- value, and so 0 for that indicator, without a word. Fix award/rubric.yml, or add the column to the model.
with rubric as (select * from {{ ref('stg_reference__award_indicators') }}),

indicator_models (level, table_schema, table_name) as (
    values
    {%- for level in ['district', 'province', 'village', 'employer'] %}
    {%- set model = ref('int_award_indicators_' ~ level) %}
    ('{{ level }}', '{{ model.schema }}', '{{ model.identifier }}'){{ ',' if not loop.last }}
    {%- endfor %}
),

indicator_columns as (
    select
        indicator_models.level,
        columns.column_name
    from indicator_models
    inner join information_schema.columns
        on
            indicator_models.table_schema = columns.table_schema
            and indicator_models.table_name = columns.table_name
    where columns.data_type in ('smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision')
)

select
    rubric.rubric_version,
    rubric.level,
    rubric.indicator
from rubric
left join indicator_columns
    on
        rubric.level = indicator_columns.level
        and rubric.indicator = indicator_columns.column_name
where indicator_columns.column_name is null
