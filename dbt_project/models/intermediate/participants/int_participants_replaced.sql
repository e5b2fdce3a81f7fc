-- The rows of int_participants_current that this night's build rewrites, as they stand before it, so that
-- int_participation_counts can take them off before adding their new rows, and int_persons_replaced can
-- place their persons as they were. int_participants_current depends on this model, so it is read before it
-- changes.
{{ rows_replaced_in(
    'int_participants_current', 'kpj',
    'select kpj from ' ~ ref('int_participant_changes'),
    {'kpj': 'text', 'person_key': 'text', 'status': 'text', 'village_code': 'text', 'segment': 'text',
     'funding_source': 'text', 'occupation': 'text', 'registered_on': 'date', 'is_vulnerable_worker': 'boolean',
     'employer_npp': 'text', 'has_full_program': 'boolean', 'csr_employer_npp': 'text',
     'nik_district_code': 'text'}) }}
