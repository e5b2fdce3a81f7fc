{#- Post-hook: an index on `columns` of the model's table unless one is there already. The `indexes` config
    builds indexes only when dbt creates the table, so a table an earlier version of the project created
    would never get one; this hook gives it one on its next build, and only one. -#}
{% macro ensure_index(columns, unique=false) %}
    {%- if execute -%}
        {%- set query -%}
            select count(*) from pg_indexes
            where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
              and indexdef like '{{ "CREATE UNIQUE INDEX" if unique else "CREATE INDEX" }} % USING btree ({{ columns | join(", ") }})'
        {%- endset -%}
        {%- if run_query(query).columns[0].values()[0] == 0 -%}
            create {{ 'unique ' if unique }}index on {{ this }} ({{ columns | join(', ') }})
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
