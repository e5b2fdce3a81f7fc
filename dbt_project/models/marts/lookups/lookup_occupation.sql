{{ config(indexes=[{'columns': ['code'], 'unique': true}]) }}

-- The contract's occupation codes with their labels, for BI tools.
{{ code_lookup('occupation_codes') }}
