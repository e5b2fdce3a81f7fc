{{ config(indexes=[{'columns': ['code'], 'unique': true}]) }}

-- The contract's program codes with their labels, for BI tools.
{{ code_lookup('program_codes') }}
