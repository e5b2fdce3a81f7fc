{#- The business date D as a SQL date literal, from the environment variable CAKUPAN_SNAPSHOT_DATE (what
    `cakupan run` sets; the daily marts' tests filter on it too, macros/test_where.sql) or the var
    snapshot_date (unit tests' own dates); fails the build early when it is missing or malformed.
    Not a --vars value every night: dbt parses the whole project again whenever the vars differ from
    the last run's, and the date differs every night. Read only when executing, so that parsing never sees
    it and the saved parse stays valid from one night to the next (docs/decisions.md, change 10). -#}
{% macro snapshot_date() -%}
    {%- if not execute -%}
        date '1970-01-01'
    {%- else -%}
        {%- set value = var('snapshot_date', none) or env_var('CAKUPAN_SNAPSHOT_DATE', '') -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error("The snapshot date must be YYYY-MM-DD, got '" ~ value ~ "': run dbt "
                "through `cakupan run --date D`, or set CAKUPAN_SNAPSHOT_DATE=D (docs/runbook.md).") }}
        {%- endif -%}
        date '{{ value }}'
    {%- endif -%}
{%- endmacro %}

{% macro vulnerable_target() -%}
    {{ var('vulnerable_target') | int }}
{%- endmacro %}
