{{ config(post_hook="{{ stamp_participants_build() }}") }}
-- depends_on: {{ ref('int_participant_changes') }}

-- The export date of each branch's current snapshot when the participants layer was built: the next night's
-- int_participant_changes compares it with its own to find the transferred KPJs whose winning branch can
-- have moved. Built after int_participant_changes, which reads the previous build's.
-- depends_on: {{ ref('int_delivery_validity') }}
{{ current_branch_snapshot_dates() }}
