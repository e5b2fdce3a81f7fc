{{ config(indexes=[{'columns': ['year', 'npp'], 'unique': true}],
          post_hook="{{ award_keep_finalised('employer') }}") }}

-- Paritrana Award, businesses (award-v2.md section 4): every employer of the reference and award year, its
-- indicators, its score under the rubric in force, its rank within its province and size class, and, for a
-- provincial winner, its national rank among the winners of its size class.
-- A finalised year keeps the rows signed off (`cakupan award finalise`): the post-hook award_keep_finalised.
with scored as (
    {{ award_scores('int_award_indicators_employer', 'employer', 'npp',
                    eligible='indicators.workforce > 0'
                        ~ ' and indicators.workforce >= coalesce(eligibility.min_workforce, 0)'
                        ~ ' and indicators.covered_workers >= coalesce(eligibility.min_covered_workers, 0)',
                    rank_within=['province_code', 'size_class'], national_within=['size_class']) }}
)

select
    year,
    snapshot_date,
    npp,
    employer_name,
    size_class,
    province_code,
    province_name,
    district_code,
    district_name,
    workforce,
    covered_workers,
    coverage_rate,
    full_program_share,
    vulnerable_aided,
    eligible,
    score,
    award_rank::integer as rank_in_province,
    coalesce(award_rank <= 3, false) as is_top3,
    national_rank::integer as rank_national,
    vulnerable_aided_per_100_workforce,
    rubric_version
from scored
