{#- The first export date whose payments int_contributions_by_export_date must place and count again: the
    earliest export date of a delivery that passed the raw gate since the model was last built. A new delivery
    of a branch changes which snapshot is current from its export date on (contract 5.2), so only payments of
    that date or later can move; a night with nothing new gives 'infinity', and nothing is counted again.
    Read once, before the build deletes anything, by both the pre-hook and the model (so both use the same
    date). The model keeps an index on attributed_at for it: without one, finding the last build read every
    row the model holds. -#}
{% macro first_export_date_to_attribute() %}
    {%- set query -%}
        select coalesce(min(export_date)::text, 'infinity')
        from {{ ref('stg_raw__deliveries') }}
        where gated_at > (select coalesce(max(attributed_at), '-infinity') from {{ this }})
    {%- endset -%}
    {%- if execute and is_incremental() -%}
        date '{{ run_query(query).columns[0].values()[0] }}'
    {%- else -%}
        date '-infinity'
    {%- endif -%}
{% endmacro %}

{#- Whether any delivery through the raw gate is dated on or after `first_export_date` but not on the night's
    own date: only then can there be payments to place against the snapshots of another date. -#}
{% macro deliveries_dated_other_than(first_export_date) %}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set query -%}
        select exists (
            select 1 from {{ ref('stg_raw__deliveries') }}
            where export_date >= {{ first_export_date }} and export_date <> {{ snapshot_date() }}
        )
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}
