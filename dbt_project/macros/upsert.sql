{#- Incremental strategy 'upsert': the model's rows inserted, and a row whose unique key is there already
    updated in place instead, when a column differs. Such an update changes no indexed column, and when its
    page has room (the model's config `fillfactor=90` keeps a tenth of each page free for it,
    macros/create_table_as.sql) PostgreSQL writes no index at all (a heap-only tuple), where a delete and an
    insert wrote a new entry into every index, each on a random page of a large index
    (docs/decisions.md, change 14). Rows
    that are gone are deleted by the model's pre-hook. -#}
{% macro get_incremental_upsert_sql(arg_dict) %}
    {%- set keys = [arg_dict['unique_key']] if arg_dict['unique_key'] is string else arg_dict['unique_key'] -%}
    {%- set columns = arg_dict['dest_columns'] -%}
    {%- set updated = columns | rejectattr('name', 'in', keys) | map(attribute='quoted') | list -%}
    {%- set all_columns = columns | map(attribute='quoted') | join(', ') -%}
    insert into {{ arg_dict['target_relation'] }} as built ({{ all_columns }})
    select {{ all_columns }} from {{ arg_dict['temp_relation'] }}
    on conflict ({{ keys | join(', ') }}) do update
    set ({{ updated | join(', ') }}) = row(excluded.{{ updated | join(', excluded.') }})
    where (built.{{ updated | join(', built.') }}) is distinct from (excluded.{{ updated | join(', excluded.') }})
{% endmacro %}
