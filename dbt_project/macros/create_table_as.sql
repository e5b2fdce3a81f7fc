{#- A table a model asks to keep room in its pages for (config `fillfactor`, a percentage) is created with it,
    so that the rows a build writes at once already leave that room: PostgreSQL applies a fillfactor set later
    only to pages written after. Any other table is created as dbt-postgres creates it. -#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set fillfactor = config.get('fillfactor') -%}
    {%- if fillfactor and not temporary and not config.get('contract').enforced -%}
        {{ config.get('sql_header') or '' }}
        create {{ 'unlogged' if config.get('unlogged') }} table {{ relation }} with (fillfactor = {{ fillfactor }}) as (
            {{ sql }}
        );
    {%- else -%}
        {{ return(dbt.postgres__create_table_as(temporary, relation, sql)) }}
    {%- endif -%}
{%- endmacro %}
