{{ config(indexes=[{'columns': ['code'], 'unique': true}]) }}

-- The contract's segment codes with their labels, for BI tools.
{{ code_lookup('segment_codes') }}
