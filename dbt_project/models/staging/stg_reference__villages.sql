-- Each village with its parents, joined through the reference (never by slicing codes).
select
    provinces.province_code,
    districts.district_code,
    subdistricts.subdistrict_code,
    villages.village_code,
    villages.village_name
from {{ source('reference', 'villages') }} as villages
join {{ source('reference', 'subdistricts') }} as subdistricts using (subdistrict_code)
join {{ source('reference', 'districts') }} as districts using (district_code)
join {{ source('reference', 'provinces') }} as provinces using (province_code)
