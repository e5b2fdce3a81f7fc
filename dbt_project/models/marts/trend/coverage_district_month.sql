{{ config(indexes=[{'columns': ['month', 'district_code'], 'unique': true}]) }}

-- Monthly series of district coverage: each month's last snapshot, for trends.
{{ last_snapshot_of_each_month('coverage_district') }}
