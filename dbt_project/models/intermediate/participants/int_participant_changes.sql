-- depends_on: {{ ref('int_current_snapshot_rows') }}
-- depends_on: {{ ref('int_delivery_validity') }}
-- depends_on: {{ ref('stg_raw__deliveries') }}
-- depends_on: {{ ref('stg_raw__peserta_changes') }}
-- What changed in the current snapshots since the participants layer was last built: every (branch, KPJ)
-- row added, removed or changed in a column the numbers read, and every KPJ held by more than one branch
-- whose branches now rank differently (transfer rule: latest export date, then branch code; which branch
-- wins can move with export dates alone, e.g. when one of them is late, though no row changed).
-- Only branches whose current snapshot is another delivery than the one the layer holds for them can have
-- changed. For such a branch the loader usually found the changes already, comparing the delivery with the
-- branch's previous one (stg_raw__peserta_changes): when that previous delivery is the one the layer holds,
-- they are applied as they are. Any other branch (a late one, a backfill, the layer built from another
-- night) is diffed here, its current rows against the rows the layer holds: whatever order nights were run
-- in, the layer is brought to exactly the current snapshots of D.
-- One row 'rebuild' instead when there is nothing whole to diff against: a full refresh, the first build, a
-- layer built before it was incremental, or one that a build left half written (macros/participant_changes.sql).
{{ config(post_hook="analyze {{ this }}") }}
{%- set built_rows = prior_build_of('int_branch_participants') %}
{%- set built_participants = prior_build_of('int_participants_current') %}
{%- set built_branch_dates = prior_build_of('int_branch_snapshot_dates') %}
{%- set compared = ['person_key', 'segment', 'funding_source', 'occupation', 'village_code', 'registered_on',
                    'status', 'nik_district_code', 'employer_npp', 'has_full_program', 'csr_employer_npp'] %}
{%- set compared_types = {'registered_on': 'date', 'has_full_program': 'boolean'} %}

{% if flags.FULL_REFRESH or not participants_layer_is_whole() %}

select
    'rebuild'::text as change,
    null::text as branch_code,
    null::text as kpj,
    null::text as old_person_key,
    -- The linter lays this jinja loop out as neither of its renderings:
    -- noqa: disable=LT02
    {% for column in compared %}
    null::{{ compared_types.get(column, 'text') }} as {{ column }}{{ ',' if not loop.last }}
    {% endfor %}
-- noqa: enable=LT02

{% else %}

{%- set moved_branches %}
    -- Branches whose current snapshot is not the delivery the layer holds for them, and whether the loader
    -- compared that snapshot with exactly the delivery the layer holds.
    with delivered as (select * from {{ ref('stg_raw__deliveries') }})
    select
        coalesce(now.branch_code, built.branch_code) as branch_code,
        now.delivery_id,
        coalesce(delivered.participants_compared_with = built.delivery_id, false) as compared_at_load
    from ({{ current_branch_snapshot_dates() }}) now
    full join {{ built_branch_dates }} built on built.branch_code = now.branch_code
    left join delivered on delivered.delivery_id = now.delivery_id
    where now.delivery_id is distinct from built.delivery_id
{%- endset %}
{%- set diffed_here = run_query('select branch_code from (' ~ moved_branches ~ ') moved'
                                ~ ' where not compared_at_load order by 1').columns[0].values() | list
                      if execute else [] %}

{#- Branches of which some pair now ranks the other way round under the transfer rule: the KPJs they share
    with another branch are worked out again. When every branch delivers each night, there are none. #}
{%- set reranked_query %}
    with current_branch_dates as ({{ current_branch_snapshot_dates() }}),
    reranked_pairs as (
        select first_now.branch_code as first_branch, second_now.branch_code as second_branch
        from current_branch_dates first_now
        join current_branch_dates second_now on first_now.branch_code < second_now.branch_code
        join {{ built_branch_dates }} first_before on first_before.branch_code = first_now.branch_code
        join {{ built_branch_dates }} second_before on second_before.branch_code = second_now.branch_code
        where (first_now.export_date >= second_now.export_date)
            <> (first_before.export_date >= second_before.export_date)
    )
    select first_branch from reranked_pairs
    union
    select second_branch from reranked_pairs
    order by 1
{%- endset %}
{%- set reranked_branches = run_query(reranked_query).columns[0].values() | list if execute else [] %}

with moved_branches as ({{ moved_branches }}
),

changes as (select * from {{ ref('stg_raw__peserta_changes') }}),

{% if diffed_here %}
-- {{ diffed_here | length }} branches to diff here.
current_rows as (
    select * from {{ ref('int_current_snapshot_rows') }}
    where branch_code in ({{ quoted_list(diffed_here) }})
),

built_rows as (
    select * from {{ built_rows }}
    where branch_code in ({{ quoted_list(diffed_here) }})
),

diffed_here as (
    select
        case
            when built_rows.kpj is null then 'added'
            when current_rows.kpj is null then 'removed'
            else 'changed'
        end as change,
        coalesce(current_rows.branch_code, built_rows.branch_code) as branch_code,
        coalesce(current_rows.kpj, built_rows.kpj) as kpj,
        built_rows.person_key as old_person_key,
        {% for column in compared %}current_rows.{{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from current_rows
    full join built_rows
        on built_rows.kpj = current_rows.kpj
        and built_rows.branch_code = current_rows.branch_code
    where ({% for column in compared %}current_rows.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
        is distinct from ({% for column in compared %}built_rows.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
),
{% endif %}

compared_at_load as (
    select
        changes.change,
        moved_branches.branch_code,
        changes.kpj,
        changes.old_person_key,
        -- The linter lays this jinja loop out as neither of its renderings:
        -- noqa: disable=LT02
        {% for column in compared %}
        changes.{{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    -- noqa: enable=LT02
    from moved_branches
    inner join changes on moved_branches.delivery_id = changes.delivery_id
    where moved_branches.compared_at_load
)

select * from compared_at_load
{% if diffed_here %}
union all
select * from diffed_here
{% endif %}
{% if reranked_branches %}
union all
-- {{ reranked_branches | length }} branches rank differently against another one now.
select
    'transferred'::text as change,
    null::text as branch_code,
    kpj,
    person_key as old_person_key,
    {% for column in compared %}null::{{ compared_types.get(column, 'text') }} as {{ column }}{{ ',' if not loop.last }}
    {% endfor %}
from {{ built_participants }} participants
where branches > 1
  and exists (
      select from {{ built_rows }} held
      where held.kpj = participants.kpj
        and held.branch_code in ({{ quoted_list(reranked_branches) }})
  )
{% endif %}

{% endif %}
