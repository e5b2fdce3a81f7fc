{#- A monthly series of a per-date coverage mart: each month's last snapshot, its rows and `month`. -#}
{% macro last_snapshot_of_each_month(coverage_model) %}
with coverage as (select * from {{ ref(coverage_model) }}),

last_of_month as (
    select date_trunc('month', snapshot_date)::date as month, max(snapshot_date) as snapshot_date
    from (select distinct snapshot_date from coverage) as dates
    group by 1
)

select last_of_month.month, coverage.*
from last_of_month
join coverage using (snapshot_date)
{% endmacro %}
