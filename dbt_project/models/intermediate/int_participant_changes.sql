-- depends_on: {{ ref('int_current_snapshot_rows') }}
-- depends_on: {{ ref('int_delivery_validity') }}
-- What changed in the current snapshots since the participants layer was last built: every (branch, KPJ)
-- row added, removed or changed in a column the numbers read, and every KPJ held by more than one branch
-- whose branches now rank differently (transfer rule: latest export date, then branch code; which branch
-- wins can move with export dates alone, e.g. when one of them is late, though no row changed).
-- A diff of the night's current rows against int_branch_participants, the rows the layer was last built
-- from, rather than against a branch's previous delivery: whatever order nights were run in, or if a build
-- failed half way, the layer is brought to exactly the current snapshots of D.
-- One row 'rebuild' instead when there is nothing whole to diff against: a full refresh, the first build, a
-- layer built before it was incremental, or one that a build left half written (macros/participant_changes.sql).
{{ config(post_hook="analyze {{ this }}") }}
{%- set built_rows = prior_build_of('int_branch_participants') %}
{%- set built_participants = prior_build_of('int_participants_current') %}
{%- set built_branch_dates = prior_build_of('int_branch_snapshot_dates') %}
{%- set compared = ['person_key', 'segment', 'funding_source', 'occupation', 'village_code', 'registered_on', 'status'] %}

{% if flags.FULL_REFRESH or not participants_layer_is_whole() %}

select
    'rebuild'::text as change,
    null::text as branch_code,
    null::text as kpj,
    null::text as old_person_key,
    {% for column in compared %}null::{{ 'date' if column == 'registered_on' else 'text' }} as {{ column }}{{ ',' if not loop.last }}
    {% endfor %}

{% else %}

with current_rows as (select * from {{ ref('int_current_snapshot_rows') }}),

built_rows as (select * from {{ built_rows }}),

row_changes as (
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

current_branch_dates as ({{ current_branch_snapshot_dates() }}),

-- Branches of which some pair now ranks the other way round under the transfer rule. When every branch
-- delivers each night, none does, and no transferred KPJ needs recomputing.
reranked_branches as (
    select first_now.branch_code as first_branch, second_now.branch_code as second_branch
    from current_branch_dates first_now
    join current_branch_dates second_now on first_now.branch_code < second_now.branch_code
    join {{ built_branch_dates }} first_before on first_before.branch_code = first_now.branch_code
    join {{ built_branch_dates }} second_before on second_before.branch_code = second_now.branch_code
    where (first_now.export_date >= second_now.export_date)
        <> (first_before.export_date >= second_before.export_date)
),

transferred as (
    select
        'transferred'::text as change,
        null::text as branch_code,
        kpj,
        person_key as old_person_key,
        {% for column in compared %}null::{{ 'date' if column == 'registered_on' else 'text' }} as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ built_participants }} participants
    where branches > 1
      and exists (
          select from {{ built_rows }} held
          where held.kpj = participants.kpj
            and held.branch_code in (select first_branch from reranked_branches
                                     union select second_branch from reranked_branches)
      )
)

select * from row_changes
union all
select * from transferred

{% endif %}
