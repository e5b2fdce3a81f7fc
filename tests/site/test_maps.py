"""The site's two maps, without a warehouse: the provinces' tile map and a province's district map, from the
code list, the made-up boundaries of tests/fixtures/boundaries (three of Sumatera Barat's districts of the small
night, Kota Padang left out, one of them a MultiPolygon; a lake without a code; Pekanbaru of Riau by its id),
and the partials rendered by a minimal Jinja2 environment."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import markupsafe
import pytest

from cakupan.reference import region_package
from cakupan.settings import load_settings
from cakupan.site import site_format
from cakupan.site.boundaries import BoundariesError, district_choropleth, district_code, load_boundaries
from cakupan.site.colour_scale import BLUES, NO_DATA, coverage_legend
from cakupan.site.tile_map import province_tiles, tile_positions

FIXTURES = Path(__file__).parents[1] / "fixtures" / "boundaries"
TEMPLATES = Path(__file__).parents[2] / "src" / "cakupan" / "site" / "templates"
SUMBAR_ROWS = [
    {"district_code": "13.03", "district_name": "Kabupaten Sijunjung", "coverage_rate": Decimal("0.25")},
    {"district_code": "13.06", "district_name": "Kabupaten Agam", "coverage_rate": None},
    {"district_code": "13.71", "district_name": "Kota Padang", "coverage_rate": 0.12},
    {"district_code": "13.73", "district_name": "Kota Sawahlunto", "coverage_rate": 0.41},
]


@pytest.fixture(scope="module")
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("cakupan.site", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.globals["t"] = lambda i, e: markupsafe.Markup(
        f'<span class="lang-id">{markupsafe.escape(i)}</span>'
        f'<span class="lang-en" lang="en">{markupsafe.escape(e)}</span>')
    # site_format writes a missing value as the entity &ndash;: markup, not text to escape.
    env.globals["percent"] = lambda rate: markupsafe.Markup(site_format.percent(rate))
    return env


@pytest.fixture(scope="module")
def reference_provinces() -> dict[str, str]:
    tarball = region_package.ensure_package(load_settings().cache_dir)
    return {code: name for code, _, name in region_package.iter_level(tarball, "province")}


def test_every_province_of_the_reference_has_a_tile_of_its_own(reference_provinces):
    positions = tile_positions()
    assert positions.keys() == reference_provinces.keys()
    assert len({(p.column, p.row) for p in positions.values()}) == len(positions) == 38

    rows = [{"province_code": code, "province_name": name, "coverage_rate": None}
            for code, name in reference_provinces.items()]
    tile_map = province_tiles(rows, target=0.30)
    assert [tile.code for tile in tile_map.tiles] == sorted(reference_provinces)
    assert len({(tile.x, tile.y) for tile in tile_map.tiles}) == 38
    assert all(tile.name == reference_provinces[tile.code] for tile in tile_map.tiles)
    assert all(0 <= tile.x < tile.x + tile.width <= tile_map.width for tile in tile_map.tiles)
    assert all(0 <= tile.y < tile.y + tile.height <= tile_map.height for tile in tile_map.tiles)


def test_the_tiles_keep_the_archipelagos_shape():
    position = tile_positions()
    # Aceh is the north-west corner, Papua Selatan in the east, Java below Sumatra and Kalimantan.
    assert (position["11"].column, position["11"].row) == (0, 0)
    assert max(p.column for p in position.values()) == position["93"].column
    java = [position[code] for code in ("36", "32", "33", "35")]
    assert [p.column for p in java] == sorted(p.column for p in java) and len({p.row for p in java}) == 1
    assert all(position[code].row < java[0].row for code in ("61", "62", "63", "64", "65", "14", "15", "16"))
    assert position["61"].column < position["72"].column < position["81"].column < position["91"].column


def test_rates_are_coloured_by_their_bin_with_the_target_as_an_edge():
    legend = coverage_legend(0.30)
    assert [(b.lower, b.upper) for b in legend.bins] == [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, None)]
    assert [b.starts_at_target for b in legend.bins] == [False, False, False, True, False]
    assert [b.colour for b in legend.bins] == list(BLUES)

    rates = {"11": 0.0, "12": 0.05, "13": 0.1, "14": 0.2999, "15": Decimal("0.30"), "16": 0.4, "17": 1.2, "18": None}
    rows = [{"province_code": code, "province_name": code, "coverage_rate": rate} for code, rate in rates.items()]
    tiles = {tile.code: tile for tile in province_tiles(rows, Decimal("0.30")).tiles}
    assert {code: tiles[code].fill for code in rates} == {
        "11": BLUES[0], "12": BLUES[0], "13": BLUES[1], "14": BLUES[2], "15": BLUES[3], "16": BLUES[4],
        "17": BLUES[4], "18": NO_DATA}
    assert {code: tiles[code].meets_target for code in rates} == {
        "11": False, "12": False, "13": False, "14": False, "15": True, "16": True, "17": True, "18": None}
    assert tiles["15"].rate == 0.3 and isinstance(tiles["15"].rate, float)
    assert tiles["18"].rate is None and tiles["19"].fill == NO_DATA and tiles["19"].name == ""
    assert tiles["13"].href == "provinsi/13.html"


def test_the_bins_follow_the_target_and_stand_without_one():
    assert [b.lower for b in coverage_legend(0.45).bins] == [0.0, 0.15, 0.3, 0.45, 0.6]
    assert coverage_legend(0.45).bin_of(0.45).starts_at_target
    without = coverage_legend(None)
    assert [b.lower for b in without.bins] == [0.0, 0.1, 0.2, 0.3, 0.4] and without.target is None
    assert not any(b.starts_at_target for b in without.bins)
    rows = [{"province_code": "13", "province_name": "Sumatera Barat", "coverage_rate": 0.5}]
    assert {tile.meets_target for tile in province_tiles(rows, None).tiles} == {None}
    with pytest.raises(ValueError, match="positive fraction"):
        coverage_legend(0)


def test_a_province_without_a_tile_is_refused_by_code_and_file():
    rows = [{"province_code": "97", "province_name": "Provinsi Baru", "coverage_rate": 0.2}]
    with pytest.raises(ValueError, match=r"'97'.*src/cakupan/site/province_tiles\.csv"):
        province_tiles(rows, 0.3)


@pytest.mark.parametrize(("value", "expected"), [
    ("1373", "13.73"), ("13.73", "13.73"), (1373, "13.73"), (1373.0, "13.73"), (" 13.06 ", "13.06"),
    ("9601", "96.01"), ("1300", None), ("9901", None), ("137301", None), ("13.7", None), ("Kota Padang", None),
    (True, None), (None, None), ("", None),
])
def test_district_codes_are_normalised(value, expected):
    assert district_code(value) == expected


@pytest.mark.parametrize("name", ["districts.geojson", "districts.topojson"])
def test_the_fixture_gives_its_districts_grouped_by_province(name):
    boundaries = load_boundaries(FIXTURES / name)
    assert boundaries.source == FIXTURES / name
    shapes = {province: [(s.code, s.name, len(s.rings)) for s in group]
              for province, group in boundaries.districts_by_province.items()}
    # The lake has no code and is left out; Sijunjung is a MultiPolygon of two rings.
    assert shapes == {"13": [("13.03", "Sijunjung", 2), ("13.06", "Agam", 1), ("13.73", "Sawahlunto", 1)],
                      "14": [("14.71", "Pekanbaru", 1)]}


def test_a_province_map_from_the_fixture():
    choropleth = district_choropleth(load_boundaries(FIXTURES / "districts.geojson"), "13", SUMBAR_ROWS, 0.30)
    assert (choropleth.width, choropleth.height) == (600.0, 501.4)
    areas = {area.code: area for area in choropleth.areas}
    assert [area.code for area in choropleth.areas] == ["13.03", "13.06", "13.73"]
    assert {code: (a.name, a.fill, a.rate, a.meets_target, a.href) for code, a in areas.items()} == {
        "13.03": ("Kabupaten Sijunjung", BLUES[2], 0.25, False, "../kabupaten/13.03.html"),
        "13.06": ("Kabupaten Agam", NO_DATA, None, None, "../kabupaten/13.06.html"),
        "13.73": ("Kota Sawahlunto", BLUES[4], 0.41, True, "../kabupaten/13.73.html"),
    }
    # Lon 100-101.2 and lat -1-0 fill 592 units across; x is squeezed by cos(0.5 degrees), y runs south.
    assert areas["13.73"].path == "M250.7,250.7L497.3,250.7L497.3,4Z"
    assert areas["13.03"].path == ("M250.7,250.7L250.7,497.4L497.3,497.4L497.3,250.7Z"
                                   "M546.7,448L596,448L596,398.7L546.7,398.7Z")
    assert sum(len(area.path) for area in choropleth.areas) == 156
    assert [(m.code, m.name, m.rate, m.href) for m in choropleth.missing] == [
        ("13.71", "Kota Padang", 0.12, "../kabupaten/13.71.html")]


def test_geojson_and_topojson_give_the_same_map(tmp_path):
    from_geojson = district_choropleth(load_boundaries(FIXTURES / "districts.geojson"), "13", SUMBAR_ROWS, 0.3)
    from_topojson = district_choropleth(load_boundaries(FIXTURES / "districts.topojson"), "13", SUMBAR_ROWS, 0.3)
    assert from_topojson == from_geojson

    # The same topology without quantisation: absolute positions, no transform.
    topology = json.loads((FIXTURES / "districts.topojson").read_text())
    (scale_x, scale_y), (translate_x, translate_y) = topology.pop("transform").values()
    absolute = []
    for arc in topology["arcs"]:
        x = y = 0
        positions = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            positions.append([x * scale_x + translate_x, y * scale_y + translate_y])
        absolute.append(positions)
    topology["arcs"] = absolute
    unquantised = tmp_path / "districts.topojson"
    unquantised.write_text(json.dumps(topology))
    assert district_choropleth(load_boundaries(unquantised), "13", SUMBAR_ROWS, 0.3) == from_geojson


def test_a_province_without_polygons_lists_every_district_as_missing():
    choropleth = district_choropleth(load_boundaries(FIXTURES / "districts.geojson"), "12", [
        {"district_code": "12.71", "district_name": "Kota Medan", "coverage_rate": 0.3}], 0.3)
    assert choropleth.areas == () and [m.code for m in choropleth.missing] == ["12.71"]
    with pytest.raises(ValueError, match="14.71.*province 13"):
        district_choropleth(load_boundaries(FIXTURES / "districts.geojson"), "13", [
            {"district_code": "14.71", "district_name": "Kota Pekanbaru", "coverage_rate": 0.3}], 0.3)


def test_a_dense_province_is_thinned_to_a_small_map(tmp_path):
    # A rugged coast of 40 000 points and 3 000 islets of a few hundred metres, like BIG's 1:50 000 file.
    coast = [[100 + (2 + 0.01 * math.sin(i / 5)) * math.cos(2 * math.pi * i / 40000),
              -1 + (2 + 0.01 * math.sin(i / 5)) * math.sin(2 * math.pi * i / 40000)] for i in range(40000)]
    coast.append(coast[0])
    islets = [[[[lon, lat], [lon + 0.003, lat], [lon + 0.003, lat + 0.003], [lon, lat]]]
              for lon, lat in ((102.2 + 0.01 * (i % 60), -3 + 0.01 * (i // 60)) for i in range(3000))]
    features = [{"type": "Feature", "properties": {"kode": "1301"},
                 "geometry": {"type": "MultiPolygon", "coordinates": [[coast], *islets]}}]
    path = tmp_path / "dense.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert path.stat().st_size > 1_000_000

    data = district_choropleth(load_boundaries(path), "13", [], None).areas[0].path
    assert 5_000 < len(data) < 60_000, len(data)
    assert data.count("M") == 1  # the islets are under a square unit each
    assert re.fullmatch(r"M\d+(\.\d)?,\d+(\.\d)?(L\d+(\.\d)?,\d+(\.\d)?)+Z", data)


def test_a_tiny_district_keeps_something_to_click(tmp_path):
    features = [
        {"type": "Feature", "properties": {"kode": "13.01"},
         "geometry": {"type": "Polygon", "coordinates": [[[100, -1], [101, -1], [101, 0], [100, -1]]]}},
        {"type": "Feature", "properties": {"kode": "13.75"},
         "geometry": {"type": "Polygon", "coordinates": [[[100.5, -0.5], [100.5001, -0.5], [100.5, -0.4999],
                                                          [100.5, -0.5]]]}},
    ]
    path = tmp_path / "tiny.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    tiny = district_choropleth(load_boundaries(path), "13", [], None).areas[1]
    assert tiny.code == "13.75" and tiny.path.startswith("M") and tiny.path.count("L") >= 2


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read the boundary file"),
    ("{not json", "cannot read the boundary file"),
    ('{"type": "GeometryCollection", "geometries": []}', "neither a GeoJSON FeatureCollection nor a TopoJSON"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"nama": "Danau"}, "geometry":'
     ' {"type": "Polygon", "coordinates": [[[100, 0], [101, 0], [101, 1], [100, 0]]]}}]}', "no Polygon or"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kode": "13.71"}, "geometry":'
     ' {"type": "Polygon", "coordinates": [[[650000, 9900000], [651000, 9900000], [651000, 9901000], '
     '[650000, 9900000]]]}}]}', "reproject the file to WGS 84"),
    ('{"type": "Topology", "objects": {"d": {"type": "Polygon", "arcs": [[7]], "properties": {"kode": "1371"}}}, '
     '"arcs": []}', "a geometry is malformed"),
])
def test_an_unusable_boundary_file_is_refused_by_name_with_the_fix(tmp_path, content, message):
    path = tmp_path / "batas.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BoundariesError) as caught:
        load_boundaries(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "CAKUPAN_BOUNDARIES must name" in text and "kode_kabkota" in text


def test_the_setting_names_the_boundary_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CAKUPAN_BOUNDARIES", str(tmp_path / "batas.topojson"))
    assert load_settings().boundaries == tmp_path / "batas.topojson"
    monkeypatch.setenv("CAKUPAN_BOUNDARIES", "")
    assert load_settings().boundaries is None


class _Elements(HTMLParser):
    """Every element with its attributes and the tags it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, dict[str, str | None]]] = []
        self.found: list[tuple[str, dict[str, str | None], list[tuple[str, dict[str, str | None]]]]] = []
        self.titles: list[tuple[str, str]] = []  # (text, the element it names)
        self._title: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs), list(self.open)))
        if tag == "title":
            self._title = []
        if tag not in ("rect", "path", "circle", "line", "br"):
            self.open.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.found.append((tag, dict(attrs), list(self.open)))

    def handle_endtag(self, tag):
        if tag == "title" and self._title is not None:
            self.titles.append(("".join(self._title), self.open[-2][0]))
            self._title = None
        if any(name == tag for name, _ in self.open):
            while self.open.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if self._title is not None:
            self._title.append(data)


def _elements(html: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(html)
    return parsed


def test_the_tile_map_partial_links_and_names_every_province(environment, reference_provinces):
    rows = [{"province_code": code, "province_name": name, "coverage_rate": 0.31 if code == "13" else None}
            for code, name in reference_provinces.items()]
    html = environment.get_template("partials/tile_map.html.j2").render(tile_map=province_tiles(rows, 0.3))
    parsed = _elements(html)
    coded = [(tag, attrs, parents) for tag, attrs, parents in parsed.found if "data-code" in attrs]
    assert len(coded) == 38 and {tag for tag, _, _ in coded} == {"rect"}
    assert sorted(attrs["data-code"] for _, attrs, _ in coded) == sorted(reference_provinces)
    for _, attrs, parents in coded:
        link = parents[-1]
        assert link[0] == "a" and link[1]["href"] == f"provinsi/{attrs['data-code']}.html"
        assert link[1]["aria-label"].startswith(reference_provinces[attrs["data-code"]] + ": ")
    assert len(parsed.titles) == 38 and {parent for _, parent in parsed.titles} == {"a"}
    assert "Sumatera Barat: 31,0 %" in [text for text, _ in parsed.titles]
    assert "Aceh: \N{EN DASH}" in [text for text, _ in parsed.titles]
    svg = next(attrs for tag, attrs, _ in parsed.found if tag == "svg")
    assert svg["role"] == "group" and svg["aria-labelledby"] == "tile-map-caption" and 'id="tile-map-caption"' in html
    assert html.count('class="map-legend-target"') == 1 and html.count("<circle") == 2  # the tile and the legend


def test_the_choropleth_partial_links_and_names_every_district(environment):
    choropleth = district_choropleth(load_boundaries(FIXTURES / "districts.topojson"), "13", SUMBAR_ROWS, 0.3)
    html = environment.get_template("partials/choropleth.html.j2").render(choropleth=choropleth, map_id="sumbar")
    parsed = _elements(html)
    coded = [(tag, attrs, parents) for tag, attrs, parents in parsed.found if "data-code" in attrs]
    assert [(tag, attrs["data-code"], parents[-1][1]["href"]) for tag, attrs, parents in coded] == [
        ("path", "13.03", "../kabupaten/13.03.html"), ("path", "13.06", "../kabupaten/13.06.html"),
        ("path", "13.73", "../kabupaten/13.73.html")]
    assert [attrs["d"] for _, attrs, _ in coded] == [area.path for area in choropleth.areas]
    assert [text for text, _ in parsed.titles] == [
        "Kabupaten Sijunjung: 25,0 %", "Kabupaten Agam: \N{EN DASH}", "Kota Sawahlunto: 41,0 %"]
    assert 'fill="url(#sumbar-no-data)"' in html and 'id="sumbar-no-data"' in html
    assert '<a href="../kabupaten/13.71.html">Kota Padang</a>' in html  # missing from the boundary file


def test_the_partials_have_no_word_outside_t():
    for template in sorted((TEMPLATES / "partials").glob("*.j2")):
        text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", template.read_text(), flags=re.S)
        text = re.sub(r"<[^>]*>", " ", text)
        assert not re.findall(r"[^\W\d_]+", text), (template.name, text)
