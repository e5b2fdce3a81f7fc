"""Where an area's figures are on the reviewers' site, relative to its root: the pages link them, search
(search_index) finds them, and a village is its row on its district page."""

from __future__ import annotations

# Formats of an area's row (its codes), for tables' links.
PROVINCE_PAGE = "provinsi/{province_code}.html"
DISTRICT_PAGE = "kabupaten/{district_code}.html"
VILLAGE_ROW_ID = "desa-{village_code}"
VILLAGE_ROW = f"{DISTRICT_PAGE}#{VILLAGE_ROW_ID}"


def province_url(province_code: str) -> str:
    return PROVINCE_PAGE.format(province_code=province_code)


def district_url(district_code: str) -> str:
    return DISTRICT_PAGE.format(district_code=district_code)


def village_url(district_code: str, village_code: str) -> str:
    return VILLAGE_ROW.format(district_code=district_code, village_code=village_code)
