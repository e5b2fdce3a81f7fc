{{ award_indicators('coverage_province', 'province_code', ['province_name', 'province_iso']) }}
