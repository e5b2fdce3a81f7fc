{{ config(post_hook="{{ stamp_participants_build() }}") }}
-- depends_on: {{ ref('int_participant_changes') }}

-- Each branch's current snapshot when the participants layer was built: its delivery, whose rows the layer
-- then holds for the branch, and its export date, from which the next night's int_participant_changes finds
-- the transferred KPJs whose winning branch can have moved. Built after
-- int_participant_changes, which reads the previous build's.
-- depends_on: {{ ref('int_delivery_validity') }}
{{ current_branch_snapshot_dates() }}
