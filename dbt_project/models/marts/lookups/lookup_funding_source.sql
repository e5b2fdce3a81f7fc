{{ config(indexes=[{'columns': ['code'], 'unique': true}]) }}

-- The contract's funding source codes with their labels, for BI tools (seeds/funding_source_codes.csv), and
-- whether each makes a BPU participant a vulnerable worker, by the counting rule itself.
select
    code,
    label_id,
    label_en,
    code in {{ vulnerable_funding_sources() }} as makes_vulnerable
from {{ ref('funding_source_codes') }}
