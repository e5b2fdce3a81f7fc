{{ config(indexes=[{'columns': ['year', 'province_code'], 'unique': true}],
          post_hook="{{ award_keep_finalised('province') }}") }}

-- Paritrana Award, provinces: every province and award year, its indicators, its score under the rubric in
-- force, its national rank, and its Universal Labour Coverage target.
-- A finalised year keeps the rows signed off (`cakupan award finalise`): the post-hook award_keep_finalised.
{{ award_ranking('int_award_indicators_province', 'province', 'province_code',
                 names=['province_code', 'province_name', 'province_iso'], rank_column='rank_national') }}
