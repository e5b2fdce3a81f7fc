-- depends_on: {{ ref('int_participant_changes') }}
-- depends_on: {{ ref('int_branch_participants') }}
-- depends_on: {{ ref('int_delivery_validity') }}

-- The rows int_participants_current gets from this night's build: the KPJs int_participant_changes names,
-- worked out again from the current snapshots (a KPJ that no branch holds any more has none). Built apart from
-- int_participants_current so that int_participation_counts and int_persons_replaced read them here, where
-- each used to look the same KPJs up again in the whole table (docs/decisions.md, change 16). Empty on a
-- rebuild and on a first build, which build int_participants_current whole.
{% if prior_build_of('int_participants_current') is none or participants_rebuilt() %}
select * from ({{ participants_on_snapshot_date() }}) as participants
where false
{% else %}
{{ participants_on_snapshot_date('select kpj from ' ~ ref('int_participant_changes')) }}
{% endif %}
