{#- The participants layer (int_branch_participants, int_participants_current, int_persons_covered and the
    counts the daily marts read) is maintained from int_participant_changes: a night rewrites only the KPJs
    and persons that changed, not every participant. These macros are what its models and hooks share; the
    counting rules they apply (contract section 5) are in macros/counting_rules.sql.
    The rewrites pick their rows with `= any(array(select ...))`, not `in (select ...)`: against a semi-join
    of a night's tens of thousands of keys the planner chose a sequential scan of the whole table, whatever
    random_page_cost (docs/decisions.md, change 11); for an array it has not seen it expects a
    handful of keys and probes the index. -#}

{#- True when int_participant_changes holds no diff but asks for a rebuild (full refresh, first build, or a
    layer that is not whole: participants_layer_is_whole). Read at run time, so a pre-hook and its model agree. -#}
{% macro participants_rebuilt() %}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set query -%}
        select exists (select 1 from {{ ref('int_participant_changes') }} where change = 'rebuild')
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}

{#- The models a night maintains from int_participant_changes: each one records the build that last wrote it
    (audit.participants_layer_builds, in the model's own transaction). -#}
{% macro participants_layer() %}
    {{ return(['int_branch_participants', 'int_branch_snapshot_dates', 'int_participants_current',
               'int_persons_covered', 'int_participation_counts', 'int_village_person_counts',
               'int_employer_person_participations', 'int_employer_counts', 'int_nik_district_person_counts']) }}
{% endmacro %}

{% macro stamp_participants_build() %}
    insert into {{ participants_layer_builds() }} (model, build, rules)
    values ('{{ this.identifier }}', '{{ invocation_id }}', '{{ participants_rules() }}')
    on conflict (model) do update set build = excluded.build, rules = excluded.rules, written_at = now()
{% endmacro %}

{#- The table of the layer's builds by its plain name: dbt renders a source as an empty subquery under
    `--empty`, which can be neither written to nor aliased. -#}
{% macro participants_layer_builds() %}
    {%- set builds = source('audit', 'participants_layer_builds') -%}
    {{ return(api.Relation.create(database=builds.database, schema=builds.schema, identifier=builds.identifier)) }}
{% endmacro %}

{#- A fingerprint of the rules the layer is built by: the code of its models and of the macros they are made
    of, and the contract's list of vulnerable-worker funding sources. Rows a night does not touch keep the
    rules they were built by, so a change to these rebuilds the layer (as a full refresh would) instead of
    mixing old and new rules. -#}
{% macro participants_rules() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set models = participants_layer() + ['int_participant_changes', 'int_participants_replaced',
                                             'int_participants_rewritten', 'int_persons_replaced',
                                             'int_employer_participations_changed'] -%}
    {%- set code = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name in models -%}
        {%- do code.append(node.name ~ '\n' ~ node.raw_code) -%}
    {%- endfor -%}
    {%- for name in participants_rules_macros() -%}
        {%- do code.append(name ~ '\n' ~ context[name].macro.macro_sql) -%}
    {%- endfor -%}
    {{ return(local_md5((code | sort | join('\n')) ~ vulnerable_funding_sources())) }}
{% endmacro %}

{#- The macros whose SQL the layer's models are made of: their code counts in the fingerprint, as the models'. -#}
{% macro participants_rules_macros() %}
    {{ return(['participants_on_snapshot_date', 'current_branch_snapshot_dates', 'persons_touched_by_changes',
               'persons_placed', 'rows_replaced_in', 'employer_participations']) }}
{% endmacro %}

{#- True when the last build wrote every model of the layer, by the rules in force: only then can a night
    apply its changes to them. After a build that stopped half way (one model written, the next not), a
    change of rules, or before the layer was incremental, they disagree, and the night rebuilds the layer. -#}
{% macro participants_layer_is_whole() %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set query -%}
        select count(*) = {{ participants_layer() | length }}
            and count(distinct builds.build) = 1
            and bool_and(builds.rules = '{{ participants_rules() }}')
        from pg_class tables
        join pg_namespace schemas on schemas.oid = tables.relnamespace
        join {{ participants_layer_builds() }} builds on builds.model = tables.relname
        where schemas.nspname = '{{ this.schema }}'
          and tables.relkind = 'r'
          and tables.relname in ('{{ participants_layer() | join("', '") }}')
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] or false) }}
{% endmacro %}

{#- The earlier build of a model of the layer, read by a model that runs before that model is built again.
    Not a ref: a ref would make a cycle; dbt still builds the reader first, as the model depends on it. -#}
{% macro prior_build_of(model_name) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier=model_name)) }}
{% endmacro %}

{#- The persons whose coverage a night's changes can move (int_persons_replaced lists them for the layer):
    the person of every changed branch row before and after, and of every KPJ int_participants_current
    rewrites, before and after; a KPJ added to a branch that now wins the transfer rule can bring another
    person key. -#}
{% macro persons_touched_by_changes() %}
    select old_person_key as person_key from {{ ref('int_participant_changes') }} where old_person_key is not null
    union
    select person_key from {{ ref('int_participant_changes') }} where person_key is not null
    union
    select person_key from {{ ref('int_participants_replaced') }}
    union
    select person_key from {{ ref('int_participants_rewritten') }}
{% endmacro %}

{#- Pre-hook of the layer's models: empty the table for a rebuild, else delete the rows the changes can
    take away (`delete_gone`); the model then writes the rows it makes: appended where the hook deleted every
    row it rewrites, else upserted (macros/upsert.sql). No statement for counts, whose merge replaces the
    keys it updates. -#}
{% macro delete_changed_participants(delete_gone='') %}
    {%- if is_incremental() -%}
        {%- if participants_rebuilt() -%}
            truncate {{ this }}
        {%- else -%}
            {{ delete_gone }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- The rows of a model of the layer that this build replaces, as they were before it (`columns`: name to
    type): read by a model that runs between int_participant_changes and that model (which depends on it), so
    that the counts can subtract what they add back. None on a rebuild, nor on a first build. -#}
{% macro rows_replaced_in(model_name, key, touched_keys, columns) %}
    {%- set built = prior_build_of(model_name) -%}
    {%- if built is none or participants_rebuilt() -%}
        select {% for name, type in columns.items() %}null::{{ type }} as {{ name }}{{ ', ' if not loop.last }}{% endfor %}
        where false
    {%- else -%}
        select {{ columns.keys() | join(', ') }} from {{ built }} where {{ key }} = any(array({{ touched_keys }}))
    {%- endif -%}
{% endmacro %}

{#- `values` as a list of SQL string literals, for `in (...)`. -#}
{% macro quoted_list(values) %}
    {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
{% endmacro %}
