{#- Models land in the schema they name (staging, intermediate, marts), not "<target>_<name>":
    BI tools and roles are granted on these exact schema names (marts contract v1).
    The nightly run builds the marts into a candidate schema (var `marts_schema`), published only after
    its gates pass (plugins/cakupan/publication.py). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ var('marts_schema', 'marts') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
