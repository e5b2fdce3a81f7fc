{{ config(
    materialized='incremental',
    incremental_strategy='upsert',
    unique_key='npp',
    indexes=[{'columns': ['npp'], 'unique': true}],
    fillfactor=90,
    post_hook="{{ stamp_participants_build() }}",
    pre_hook="{{ delete_changed_participants() }}"
) }}
-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_employer_participations_changed') }}

-- The award's employer figures on D, per NPP (award-v2.md section 4): covered workers (persons with an
-- AKTIF PU or JAKON KPJ of the employer), those participations and how many hold the full four programmes,
-- and the vulnerable workers the employer aids through CSR. A night adds what its changed pairs
-- (int_employer_participations_changed) begin, end or add, read against the pairs as they now stand; a
-- rebuild counts every pair.
{% if is_incremental() and not participants_rebuilt() %}
with changed as (select * from {{ ref('int_employer_participations_changed') }}),

-- Not aliased in the lookup below: under `dbt build --empty` a ref is a subquery with an alias of its own.
pairs_now as (select * from {{ ref('int_employer_person_participations') }}),

-- Each changed pair's participations now, and so before (now less the change).
pairs as (
    select
        changed.npp,
        changed.counted_as,
        changed.participations as added,
        changed.full_program_participations as full_program_added,
        coalesce(now.participations, 0) as now_participations
    from changed
    left join lateral (
        select pairs_now.participations
        from pairs_now
        where
            pairs_now.npp = changed.npp
            and pairs_now.person_key = changed.person_key
            and pairs_now.counted_as = changed.counted_as
    ) as now on true
),

net as (
    select
        npp,
        sum(case
            when counted_as = 'own'
                then
                    (now_participations > 0)::integer - (now_participations - added > 0)::integer
            else 0
        end) as covered_workers,
        sum(case when counted_as = 'own' then added else 0 end) as active_participations,
        sum(case when counted_as = 'own' then full_program_added else 0 end) as full_program_participations,
        sum(case
            when counted_as = 'csr_aid'
                then
                    (now_participations > 0)::integer - (now_participations - added > 0)::integer
            else 0
        end) as vulnerable_aided
    from pairs
    group by npp
)

select
    net.npp,
    (coalesce(built.covered_workers, 0) + net.covered_workers)::integer as covered_workers,
    (coalesce(built.active_participations, 0) + net.active_participations)::integer as active_participations,
    (coalesce(built.full_program_participations, 0) + net.full_program_participations)::integer
        as full_program_participations,
    (coalesce(built.vulnerable_aided, 0) + net.vulnerable_aided)::integer as vulnerable_aided
from net
left join {{ this }} as built using (npp)
{% else %}
select
    npp,
    (count(*) filter (where counted_as = 'own' and participations > 0))::integer as covered_workers,
    coalesce(sum(participations) filter (where counted_as = 'own'), 0)::integer as active_participations,
    coalesce(sum(full_program_participations) filter (where counted_as = 'own'), 0)::integer
        as full_program_participations,
    (count(*) filter (where counted_as = 'csr_aid' and participations > 0))::integer as vulnerable_aided
from {{ ref('int_employer_person_participations') }}
group by npp
{% endif %}
