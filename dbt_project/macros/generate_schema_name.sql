{#- Models land in the schema they name (staging, intermediate, marts), not "<target>_<name>":
    BI tools and roles are granted on these exact schema names (marts contract v1). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
