{#- The award mart of `level` keeps a finalised year (`cakupan award finalise`) as it was signed off: a post-hook,
    in the model's own transaction, replaces the year's rows the model scored with the rows stored in
    audit.award_finalised_rows, each typed back by the mart's own row type (a missing key, a column the mart
    gained later, is null). So every night's candidate holds a finalised year exactly as signed off, whatever
    the data or rubric since, and the data tests and the publication (which replaces every award row) see it.
    A hook rather than the model's SQL, because only the built table has a row type to read the rows by.
    `--vars '{award_rescore_year: Y}'` leaves year Y as scored although it is final: only `--supersede` does that. -#}
{% macro award_keep_finalised(level) %}
{%- set rescored = var('award_rescore_year', none) -%}
{%- set in_force -%}
with in_force as (
    select finalisation_id, year
    from {{ source('award_sign_off', 'award_finalisations') }}
    where superseded_at is null{% if rescored is not none %} and year <> {{ rescored | int }}{% endif %}
),

finalised_rows as (select * from {{ source('award_sign_off', 'award_finalised_rows') }})
{%- endset %}
{{ in_force }}

delete from {{ this }} where year in (select in_force.year from in_force);

{{ in_force }}

insert into {{ this }}
select (jsonb_populate_record(null::{{ this }}, finalised_rows.award_row)).*
from finalised_rows
inner join in_force on finalised_rows.finalisation_id = in_force.finalisation_id
where finalised_rows.level = '{{ level }}'
{% endmacro %}
