{{ config(indexes=[{'columns': ['year', 'district_code'], 'unique': true}],
          post_hook="{{ award_keep_finalised('district') }}") }}

-- Paritrana Award, districts (kabupaten/kota): every district and award year, its indicators, its score
-- under the rubric in force, its rank within its province (and, for a provincial winner, its national rank
-- among the winners), and its Universal Labour Coverage target.
-- A finalised year keeps the rows signed off (`cakupan award finalise`): the post-hook award_keep_finalised.
{{ award_ranking('int_award_indicators_district', 'district', 'district_code',
                 names=['province_code', 'province_name', 'district_code', 'district_name'],
                 rank_column='rank_in_province', rank_within='province_code') }}
