{#- Tests' `where` configs may name the night's date as __snapshot_date__ (the daily marts' tests check only
    the rows of the date the build wrote). Replaced when the test runs: a `where` that read the date itself
    (env_var) made dbt parse its YAML file again whenever the date changed, which is every night
    (docs/decisions.md, change 13).
    Otherwise dbt's own get_where_subquery. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__snapshot_date__', snapshot_date() | trim) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
