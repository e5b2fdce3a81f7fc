{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['village_code', 'segment', 'funding_source', 'occupation'],
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants() }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_participants_replaced') }}

-- Active participations on D (KPJ, not persons: contract 5.4) by village, segment, funding source and
-- occupation. A night adds the rows int_participants_current rewrote and takes off the rows they replaced
-- (int_participants_replaced), instead of counting every participant again; a rebuild counts them all.
{% set keys = 'village_code, segment, funding_source, occupation' %}
{% if is_incremental() and not participants_rebuilt() %}
with changes as (
    select {{ keys }}, count(*) as active_participations
    from {{ ref('int_participants_current') }}
    where status = 'AKTIF' and kpj = any(array(select kpj from {{ ref('int_participant_changes') }}))
    group by {{ keys }}
    union all
    select {{ keys }}, -count(*)
    from {{ ref('int_participants_replaced') }}
    where status = 'AKTIF'
    group by {{ keys }}
),

net as (
    select {{ keys }}, sum(active_participations) as active_participations
    from changes
    group by {{ keys }}
)

select
    {% for key in keys.split(', ') %}net.{{ key }},{% endfor %}
    (coalesce(built.active_participations, 0) + net.active_participations)::integer as active_participations
from net
left join {{ this }} built using ({{ keys }})
{% else %}
select {{ keys }}, count(*)::integer as active_participations
from {{ ref('int_participants_current') }}
where status = 'AKTIF'
group by {{ keys }}
{% endif %}
