{{ config(indexes=[{'columns': ['year', 'village_code'], 'unique': true}],
          post_hook="{{ award_keep_finalised('village') }}") }}

-- Paritrana Award, villages (desa/kelurahan): every village and award year, its vulnerable-worker figures,
-- its score under the rubric in force, its rank within its province, and, for a provincial winner, its
-- national rank among the winners.
-- A finalised year keeps the rows signed off (`cakupan award finalise`): the post-hook award_keep_finalised.
with scored as (
    {{ award_scores('int_award_indicators_village', 'village', 'village_code',
                    eligible='indicators.vulnerable_persons >= coalesce(eligibility.min_vulnerable_persons, 0)',
                    rank_within='province_code') }}
)

select
    year,
    snapshot_date,
    province_code,
    province_name,
    district_code,
    district_name,
    village_code,
    village_name,
    eligible,
    score,
    award_rank::integer as rank_in_province,
    coalesce(award_rank <= 3, false) as is_top3,
    national_rank::integer as rank_national,
    covered_persons,
    vulnerable_persons,
    vulnerable_target,
    vulnerable_target_met,
    vulnerable_target_progress,
    rubric_version
from scored
