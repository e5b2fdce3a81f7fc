{#- A lookup mart of one of the contract's code lists (seeds/<code_list>.csv): each code with its labels in
    Bahasa Indonesia and in English. -#}
{% macro code_lookup(code_list) %}
select
    code,
    label_id,
    label_en
from {{ ref(code_list) }}
{% endmacro %}
