{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='village_code',
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants() }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_persons_replaced') }}
-- depends_on: {{ ref('int_participants_current') }}

-- Covered persons on D per village, and how many of them are vulnerable workers (contract 5.4-5.5). A night
-- adds the rows int_persons_covered rewrote and takes off the rows they replaced, both as
-- int_persons_replaced lists them, instead of counting every person again; a rebuild counts them all.
{% if is_incremental() and not participants_rebuilt() %}
with changes as (
    select
        village_code,
        1 as sign,
        is_vulnerable_worker
    from {{ ref('int_persons_replaced') }}
    where is_covered
    union all
    select
        old_village_code,
        -1 as sign,
        old_is_vulnerable_worker
    from {{ ref('int_persons_replaced') }}
    where was_covered
),

net as (
    select
        village_code,
        sum(sign) as covered_persons,
        sum(sign) filter (where is_vulnerable_worker) as vulnerable_persons
    from changes
    group by village_code
)

select
    net.village_code,
    (coalesce(built.covered_persons, 0) + net.covered_persons)::integer as covered_persons,
    (coalesce(built.vulnerable_persons, 0) + coalesce(net.vulnerable_persons, 0))::integer as vulnerable_persons
from net
left join {{ this }} as built using (village_code)
{% else %}
select
    village_code,
    count(*)::integer as covered_persons,
    (count(*) filter (where is_vulnerable_worker))::integer as vulnerable_persons
from {{ ref('int_persons_covered') }}
group by village_code
{% endif %}
