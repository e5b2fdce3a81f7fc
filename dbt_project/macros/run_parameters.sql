{#- The business date D as a SQL date literal; fails the build early on a malformed --vars value. -#}
{% macro snapshot_date() -%}
    {%- set value = var('snapshot_date') | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var snapshot_date must be YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{% macro vulnerable_target() -%}
    {{ var('vulnerable_target') | int }}
{%- endmacro %}
