{{ config(indexes=[{'columns': ['month', 'province_code'], 'unique': true}]) }}

-- Monthly series of province coverage: each month's last snapshot, for trends.
{{ last_snapshot_of_each_month('coverage_province') }}
