{#- Definitions from contract branch-export-v1 that several models share. -#}

{#- Funding sources that make a BPU participant a vulnerable worker (contract section 3). -#}
{% macro vulnerable_funding_sources() -%}
    ('APBN', 'APBD', 'APBDES', 'DBH_SAWIT', 'CSR', 'BAZNAS')
{%- endmacro %}

{#- Coverage rate (contract 5.6): covered persons over employed population, a fraction; null where the
    employed population is unknown or zero. One definition for districts and provinces. -#}
{% macro coverage_rate(covered_persons, employed_population) -%}
    {{ covered_persons }}::numeric / nullif({{ employed_population }}, 0)
{%- endmacro %}
