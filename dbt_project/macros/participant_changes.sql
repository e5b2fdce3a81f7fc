{#- The participants layer (int_branch_participants, int_participants_current, int_persons_covered) is
    maintained from int_participant_changes: a night rewrites only the KPJs and persons that changed, not
    every participant. These macros are what its models and their pre-hooks share. -#}

{#- True when int_participant_changes holds no diff but asks for a rebuild: a full refresh, a first build, or
    a layer built before it was incremental. Read at run time, so a pre-hook and its model agree. -#}
{% macro participants_rebuilt() %}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set query -%}
        select exists (select 1 from {{ ref('int_participant_changes') }} where change = 'rebuild')
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}

{#- The earlier build of another model of the layer, read by int_participant_changes before that model is
    built again (none when it does not exist yet). Not a ref: the model reads its own inputs' prior state,
    which a ref would make a cycle; dbt still builds it first, as the layer refs it. -#}
{% macro prior_build_of(model_name, needs_column=none) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set relation = adapter.get_relation(database=this.database, schema=this.schema, identifier=model_name) -%}
    {%- if relation is not none and needs_column is not none
          and needs_column not in adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}

{#- The persons whose coverage a night's changes can move: the person of every changed KPJ before and after,
    and of the KPJ that now holds a transferred participant. -#}
{% macro persons_touched_by_changes() %}
    select old_person_key from {{ ref('int_participant_changes') }} where old_person_key is not null
    union
    select person_key from {{ ref('int_participant_changes') }} where person_key is not null
    union
    select participants.person_key
    from {{ ref('int_participants_current') }} participants
    join {{ ref('int_participant_changes') }} changes using (kpj)
{% endmacro %}

{#- Pre-hook of the layer's models: empty the table for a rebuild, else delete the keys the changes touch
    (the model then inserts their new rows; a key with no new row is gone). -#}
{% macro delete_changed_participants(delete_touched) %}
    {%- if is_incremental() -%}
        {%- if participants_rebuilt() -%}
            truncate {{ this }}
        {%- else -%}
            {{ delete_touched }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
