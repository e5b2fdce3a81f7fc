"""The reviewers' site's templates, without a warehouse: every reader-facing word is in both languages, values
are escaped, times are in WIB, tables write their cells and CSVs, and charts leave room for long names."""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal

import jinja2
import pytest

from cakupan.site.charts import bar_chart
from cakupan.site.rendering import TEMPLATES, Bilingual, environment, render, t, wib
from cakupan.site.review_site import eligibility_sentences
from cakupan.site.tables import Column, Table, with_csv

# Names that read the same in both languages: the product, the tools reviewers open, and formats.
SAME_IN_BOTH = {"Cakupan", "dbt", "docs", "Data", "Docs", "GX", "CSV", "WIB", "NPP"}


def bare_words(source: str) -> list[str]:
    """Words a template writes outside any expression: its text with every tag, comment, script and style
    removed, and every {{ }} / {% %} in it replaced by a mark."""
    pieces = [value if token == "data" else "\x00" for _, token, value in environment().lex(source)
              if token in ("data", "variable_begin", "block_begin")]
    text = "".join(pieces)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return [word for word in re.findall(r"[^\W\d_][\w'-]*", text) if word not in SAME_IN_BOTH]


@pytest.mark.parametrize("template", sorted(path.relative_to(TEMPLATES).as_posix()
                                            for path in TEMPLATES.rglob("*.j2")))
def test_every_word_of_a_template_is_in_both_languages(template):
    assert bare_words((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_the_check_finds_a_bare_word():
    assert bare_words('<p class="x">{{ t("Nilai", "Score") }} Peringkat <a href="{{ root }}">{{ n }}</a></p>') == [
        "Peringkat"]


def test_both_languages_each_in_its_element_and_escaped():
    assert str(t("Desa <b>", "Village & co")) == (
        '<span class="lang-id" lang="id">Desa &lt;b&gt;</span><span class="lang-en" lang="en">Village &amp; co</span>')
    assert t(Bilingual("ya", "yes")) == t("ya", "yes")
    with pytest.raises(jinja2.UndefinedError):  # a variable a template forgot is an error, not an empty string
        environment().from_string("{{ missing }}").render()


def test_times_are_written_in_wib():
    assert wib(dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)) == "2026-12-07 06:30 WIB"
    assert wib(dt.datetime(2026, 12, 6, 23, 30)) == "2026-12-07 06:30 WIB"  # naive: UTC


def test_a_table_writes_its_cells_and_its_csv(tmp_path):
    rows = [{"district_code": "13.73", "district_name": "Kota <Sawahlunto>", "coverage_rate": Decimal("0.2512"),
             "rank_in_province": 1, "is_top3": True, "met": True, "snapshot_date": dt.date(2026, 11, 20)},
            {"district_code": "13.06", "district_name": "Kabupaten Agam", "coverage_rate": None,
             "rank_in_province": None, "is_top3": False, "met": None, "snapshot_date": dt.date(2026, 11, 20)}]
    table = with_csv(Table("kabupaten", Bilingual("Kabupaten", "Districts"), [
        Column("district_name", Bilingual("Kabupaten", "District"), "link", href="kabupaten/{district_code}.html"),
        Column("rank_in_province", Bilingual("Peringkat", "Rank"), "rank"),
        Column("coverage_rate", Bilingual("Rasio", "Rate"), "percent"),
        Column("met", Bilingual("Target", "Target"), "yes_no")], rows, Bilingual("Kosong", "Empty"),
        row_id="d-{district_code}"), tmp_path, "provinsi/13.html")

    assert table.csv_href == "13.kabupaten.csv"
    with (tmp_path / "provinsi" / "13.kabupaten.csv").open(encoding="utf-8") as file:
        assert list(csv.reader(file)) == [
            ["district_code", "district_name", "coverage_rate", "rank_in_province", "is_top3", "met", "snapshot_date"],
            ["13.73", "Kota <Sawahlunto>", "0.2512", "1", "true", "true", "2026-11-20"],
            ["13.06", "Kabupaten Agam", "", "", "false", "", "2026-11-20"]]

    html = environment().from_string('{% from "partials/table.html.j2" import data_table with context %}'
                                     "{{ data_table(table) }}").render(table=table, root="../")
    assert '<a href="../kabupaten/13.73.html">Kota &lt;Sawahlunto&gt;</a>' in html
    assert '<tr id="d-13.73">' in html
    assert '<td class="n" data-sort="0.2512">25,12 %</td>' in html
    assert '<td class="n" data-sort="">–</td>' in html  # a missing rate sorts last
    assert html.count('aria-sort="none"><button type="button">') == 4
    assert "<caption>" in html and 'href="13.kabupaten.csv" download' in html


def test_a_long_name_gets_room_in_a_bar_chart():
    long_name = "Kabupaten Kepulauan Siau Tagulandang Biaro"
    chart = bar_chart("x", Bilingual("a", "b"), [(long_name, 0.5), ("Kota Bitung", None)], str)
    page = render("partials/charts.html.j2") + environment().from_string(
        '{% from "partials/charts.html.j2" import bar_chart %}{{ bar_chart(chart) }}').render(chart=chart)
    # The names end where the bars begin: the longest name's estimated width fits left of them.
    assert chart.left >= 6.5 * len(long_name)
    assert f">{long_name}</text>" in page and 'width="0.0"' not in page


def test_eligibility_is_written_as_sentences():
    sentences = eligibility_sentences({"district": {"min_coverage_rate": 0.01},
                                       "employer": {"min_workforce": 1, "min_covered_workers": 1}})
    assert sentences == [
        Bilingual("Kabupaten/kota ikut dinilai bila memiliki rasio cakupan minimal 1,0 %, dengan penduduk bekerja "
                  "diketahui.", "Districts are ranked with a coverage rate of at least 1,0 %, with a known employed "
                  "population."),
        Bilingual("Badan usaha ikut dinilai bila memiliki jumlah pekerja (WLKP) minimal 1 dan minimal 1 pekerja "
                  "tercakup.", "Businesses are ranked with a reported workforce (WLKP) of at least 1 and at least 1 "
                  "covered workers.")]
