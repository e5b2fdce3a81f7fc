{{ award_indicators('coverage_district', 'district_code', ['district_name', 'province_name']) }}
