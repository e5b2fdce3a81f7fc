"""Ties share a rank, so an award table can hold thousands of rows: the page shows a bounded share of them, says
so in both languages, and the CSV keeps every row."""

from __future__ import annotations

import csv

from cakupan.site.rendering import environment
from cakupan.site.review_site import AWARD_NATIONAL_ROWS_SHOWN, AWARD_ROWS_SHOWN_PER_PROVINCE, _award_tables
from cakupan.site.tables import with_csv


def employer(number: int, province: str, rank: int, national: int | None, size: str = "KECIL_MIKRO") -> dict:
    return {"npp": f"{number:08d}", "employer_name": f"UD Contoh {number}", "district_name": "Kota Contoh",
            "province_code": province, "province_name": f"Provinsi {province}", "size_class": size, "score": 70,
            "rank_in_province": rank, "rank_national": national, "is_top3": rank <= 3, "covered_workers": 2,
            "workforce": 2, "coverage_rate": 1, "vulnerable_aided": 0}


def rendered(table) -> str:
    page = '{% from "partials/table.html.j2" import data_table %}{{ data_table(table) }}'
    return environment().from_string(page).render(table=table, root="")


def test_thousands_of_tied_winners_are_bounded_on_the_page_and_whole_in_the_csv(tmp_path):
    # Province 11: 2,000 businesses tied first; 12: its usual first three; 13: one winner.
    rows = [employer(n, "11", 1, 1) for n in range(2000)]
    rows += [employer(3000 + n, "12", n + 1, 1 if n == 0 else None) for n in range(3)]
    rows += [employer(4000, "13", 1, 1), employer(5000, "13", 1, 1, size="BESAR")]
    tables = _award_tables("employer", rows)

    top3 = tables["top3-kecil_mikro"]
    assert len(top3.rows) == 2004
    assert [row["province_code"] for row in top3.shown] == ["11"] * AWARD_ROWS_SHOWN_PER_PROVINCE + ["12"] * 3 + ["13"]
    national = tables["national-kecil_mikro"]
    assert len(national.rows) == 2002 and len(national.shown) == AWARD_NATIONAL_ROWS_SHOWN
    # A table with nothing to hold back shows every row and says nothing of it.
    assert tables["top3-besar"].page_rows is None and "rows shown" not in rendered(tables["top3-besar"])

    html = rendered(with_csv(top3, tmp_path, "penghargaan/badan-usaha.html"))
    assert html.count("<tr>") == 1 + AWARD_ROWS_SHOWN_PER_PROVINCE + 3 + 1  # the header, then the rows shown
    assert f"Ditampilkan {AWARD_ROWS_SHOWN_PER_PROVINCE + 4} dari 2.004 baris" in html
    assert f"{AWARD_ROWS_SHOWN_PER_PROVINCE + 4} of 2.004 rows shown" in html
    assert "skor sama berbagi peringkat" in html and "equal scores share a rank" in html
    with (tmp_path / "penghargaan" / "badan-usaha.tiga-besar-kecil_mikro.csv").open(encoding="utf-8") as file:
        assert len(list(csv.DictReader(file))) == 2004
