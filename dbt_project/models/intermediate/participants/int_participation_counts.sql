{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['district_code', 'segment', 'funding_source', 'occupation'],
    on_schema_change='sync_all_columns',
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants() }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_participants_replaced') }}
-- depends_on: {{ ref('int_participants_rewritten') }}

-- Active participations on D (KPJ, not persons: contract 5.4) by district of domicile, segment, funding source
-- and occupation: what participation_district publishes. Counted by district here rather than by village, so
-- the mart reads tens of thousands of rows, not a million (docs/decisions.md, change 14). A KPJ whose
-- village is not in the region reference counts nowhere, as in the mart before. A night adds the rows
-- int_participants_current gets (int_participants_rewritten) and takes off the rows they replace
-- (int_participants_replaced), instead of counting every participant again; a rebuild counts them all.
{% set keys = 'segment, funding_source, occupation' %}
with villages as (
    select
        village_code,
        district_code
    from {{ ref('stg_reference__villages') }}
),

{% if is_incremental() and not participants_rebuilt() %}
changes as (
    select village_code, {{ keys }}, count(*) as active_participations
    from {{ ref('int_participants_rewritten') }}
    where status = 'AKTIF'
    group by village_code, {{ keys }}
    union all
    select village_code, {{ keys }}, -count(*) as active_participations
    from {{ ref('int_participants_replaced') }}
    where status = 'AKTIF'
    group by village_code, {{ keys }}
),

net as (
    select villages.district_code, {{ keys }}, sum(changes.active_participations) as active_participations
    from changes
    inner join villages using (village_code)
    group by villages.district_code, {{ keys }}
)

select
    net.district_code,
    {% for key in keys.split(', ') %}net.{{ key }},
    {% endfor %}
    (coalesce(built.active_participations, 0) + net.active_participations)::integer as active_participations
from net
left join {{ this }} as built using (district_code, {{ keys }})
{% else %}
participations as (
    select village_code, {{ keys }}
    from {{ ref('int_participants_current') }}
    where status = 'AKTIF'
)

select villages.district_code, {{ keys }}, count(*)::integer as active_participations
from participations
inner join villages using (village_code)
group by villages.district_code, {{ keys }}
{% endif %}
