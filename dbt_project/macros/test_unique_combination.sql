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
