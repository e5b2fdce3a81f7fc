{#- Pre-hook of a daily mart that gained name columns (marts-v1 lets marts gain columns, never lose any): a
    mart kept from before it had `names` gets them on the rows of every date it already holds, from
    `names_model` by `key`, in the build that adds them. dbt itself would add them empty (on_schema_change
    append_new_columns), and every earlier date would stay without names, in the mart and in the monthly and
    award marts made from it. The columns are added here, so the build adds none; once they are there,
    a build finds none missing and this is no statement at all. -#}
{% macro add_names_to_earlier_dates(names_model, key, names) %}
    {%- if is_incremental() -%}
        {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- set missing = names | reject('in', present) | list -%}
        {%- if missing -%}
            {#- By its plain name: under `--empty` dbt renders a ref as an empty subquery, which takes no alias. -#}
            {%- set built = ref(names_model) -%}
            {%- set names_relation = api.Relation.create(database=built.database, schema=built.schema,
                                                         identifier=built.identifier) -%}
            alter table {{ this }}
                {% for name in missing %}add column {{ name }} text{{ ',' if not loop.last }} {% endfor %};
            update {{ this }} as mart
            set ({{ missing | join(', ') }}) = row(names.{{ missing | join(', names.') }})
            from {{ names_relation }} as names
            where names.{{ key }} = mart.{{ key }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
