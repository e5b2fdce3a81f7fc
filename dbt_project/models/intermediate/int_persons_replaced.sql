-- The rows of int_persons_covered that this night's build rewrites, as they stand before it, so that
-- int_village_person_counts can take them off before adding their new rows. int_persons_covered depends on
-- this model, so it is read before it changes.
-- depends_on: {{ ref('int_participants_current') }}
{{ rows_replaced_in(
    'int_persons_covered', 'person_key', persons_touched_by_changes(),
    {'person_key': 'text', 'village_code': 'text', 'is_vulnerable_worker': 'boolean'}) }}
