{#- The award mart of districts or provinces: the fixed columns of marts-v1 (`rank_column` named for the
    level; with a `rank_within`, the national tier `rank_national` of award-v2 too), the indicators, and the
    year's Universal Labour Coverage target. One definition for both. -#}
{% macro award_ranking(indicators_model, level, key, names, rank_column, rank_within=none) %}
with scored as (
    {{ award_scores(indicators_model, level, key,
                    eligible='indicators.employed_population is not null and indicators.coverage_rate >= coalesce(eligibility.min_coverage_rate, 0)',
                    rank_within=rank_within) }}
),
targets as (select * from {{ ref('stg_reference__award_targets') }})

select
    scored.year,
    scored.snapshot_date,
    {% for name in names %}scored.{{ name }},
    {% endfor -%}
    scored.eligible,
    scored.score,
    scored.award_rank::integer as {{ rank_column }},
    coalesce(scored.award_rank <= 3, false) as is_top3,
    {% if rank_within %}scored.national_rank::integer as rank_national,
    {% endif -%}
    scored.covered_persons,
    scored.employed_population,
    scored.coverage_rate,
    scored.coverage_rate_year_before,
    scored.coverage_rate_change_pp,
    scored.vulnerable_persons,
    scored.vulnerable_per_1000_employed,
    scored.villages,
    scored.villages_target_met,
    scored.villages_target_met_share,
    scored.government_workers,
    scored.government_workers_per_1000_employed,
    scored.public_contributions_idr,
    scored.public_contributions_per_employed_idr,
    targets.coverage_target,
    scored.coverage_rate >= targets.coverage_target as coverage_target_met,
    -- greatest() skips nulls: without a denominator or a target there is no gap to state.
    case when scored.employed_population is not null and targets.coverage_target is not null then
        greatest(ceil(targets.coverage_target * scored.employed_population) - scored.covered_persons, 0)
    end::bigint as coverage_gap_persons,
    scored.rubric_version
from scored
left join targets using (year)
{% endmacro %}
