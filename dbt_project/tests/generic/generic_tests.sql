{#- No two rows share the same values in `combination` (dbt_utils is not available here). -#}
{% test unique_combination(model, combination) %}
select {{ combination | join(', ') }}, count(*) as duplicates
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies a SQL condition. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}

{#- The column identifies a row: no value twice and none missing. One scan, where the built-in unique and
    not_null tests take one each, and a scan of a large table is costly (docs/decisions.md, change 6). -#}
{% test unique_and_not_null(model, column_name) %}
select {{ column_name }}, count(*) as rows_with_it
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
