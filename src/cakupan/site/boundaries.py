"""District maps of the province pages, drawn from the boundary file named by CAKUPAN_BOUNDARIES.

The file is GeoJSON (a FeatureCollection, or one Feature) or TopoJSON (a Topology, its arcs quantised or not), in
longitude and latitude (WGS 84), with a Polygon or MultiPolygon feature (or several) per district (kabupaten/kota):
BIG's official administrative boundaries, for instance. A feature belongs to the district whose Kemendagri code is
in the first of these properties (names compared case-insensitively) that holds one, else in the feature's id:

    district_code, kode_kabkota, kode_kab_kota, kd_kabkota, kdpkab, kode_kab, kode, code, id

"13.73", "1373" and 1373 all read as 13.73 (a code whose province is not in province_tiles.csv is no district's;
BPS codes, which differ for some districts, are not read). Its name is the first of district_name, nama_kabkota,
wadmkk, nama, name; the page's own name (from the reference) is preferred. Features without a district code (the
sea, a lake, a province outline) are left out; a file without a single district is refused.

`load_boundaries` parses the file once for the whole site build, the districts grouped by province;
`district_choropleth` turns one province into SVG path data for partials/choropleth.html.j2: equirectangular, the
longitude scaled by the cosine of the province's middle latitude, fitted into the viewBox with north up, each ring
simplified (Douglas-Peucker, half a unit) and rounded to a tenth of a unit, islets under a square unit left out. A
province of BIG's 1:50 000 boundaries so stays within tens of kilobytes of path data, where its raw coordinates
would take megabytes. The whole file is held in memory while it is read: a national file at full resolution takes
gigabytes, so simplify it once beforehand (mapshaper's `-simplify 5% -o format=topojson`, for one) and point
CAKUPAN_BOUNDARIES at the result.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cakupan.errors import UserError
from cakupan.site.colour_scale import Legend, as_rate, coverage_legend, meets_target
from cakupan.site.tile_map import tile_positions

CODE_KEYS = ("district_code", "kode_kabkota", "kode_kab_kota", "kd_kabkota", "kdpkab", "kode_kab", "kode", "code",
             "id")
NAME_KEYS = ("district_name", "nama_kabkota", "wadmkk", "nama", "name")
HOW_TO_FIX = (
    "CAKUPAN_BOUNDARIES must name a GeoJSON FeatureCollection or a TopoJSON Topology, in longitude and latitude "
    "(WGS 84), of district (kabupaten/kota) Polygons or MultiPolygons, each with its Kemendagri code (13.73 or 1373) "
    f"in one of the properties {', '.join(CODE_KEYS)}; unset CAKUPAN_BOUNDARIES to build the site without district "
    "maps."
)
_DISTRICT_CODE = re.compile(r"(\d{2})\.?(\d{2})")

Point = tuple[float, float]
Ring = tuple[Point, ...]
Projection = Callable[[Point], Point]

SIMPLIFY_TOLERANCE = 0.5  # in viewBox units: half of what a screen pixel shows at the map's natural size
SMALLEST_RING = 1.0  # square viewBox units; smaller islets are left out (the district keeps its largest ring)
PADDING = 4


class BoundariesError(UserError, ValueError):
    pass


@dataclass(frozen=True)
class DistrictShape:
    code: str
    name: str
    rings: tuple[Ring, ...]  # outer rings and holes alike: the map fills them even-odd


@dataclass(frozen=True)
class Boundaries:
    source: Path
    districts_by_province: Mapping[str, tuple[DistrictShape, ...]]


@dataclass(frozen=True)
class DistrictArea:
    code: str
    name: str
    path: str  # the `d` of an SVG path, to be filled with fill-rule="evenodd"
    fill: str
    rate: float | None
    href: str
    meets_target: bool | None


@dataclass(frozen=True)
class MissingDistrict:
    """A district of the page's rows that the boundary file has no polygon for."""
    code: str
    name: str
    rate: float | None
    href: str


@dataclass(frozen=True)
class Choropleth:
    province_code: str
    areas: tuple[DistrictArea, ...]
    missing: tuple[MissingDistrict, ...]
    width: float  # the SVG's viewBox is "0 0 width height"
    height: float
    legend: Legend


def district_code(value: object) -> str | None:
    """A Kemendagri district code as the reference writes it (13.73), or None when `value` is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    match = _DISTRICT_CODE.fullmatch(str(value).strip())
    if not match or match.group(1) not in tile_positions() or match.group(2) == "00":
        return None
    return f"{match.group(1)}.{match.group(2)}"


def load_boundaries(path: Path) -> Boundaries:
    """Parse the boundary file; raises BoundariesError, naming the file, when it cannot be used."""
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BoundariesError(f"{path}: cannot read the boundary file ({error}). {HOW_TO_FIX}") from error
    kind = document.get("type") if isinstance(document, dict) else None
    try:
        if kind == "Topology":
            features = list(_topojson_features(document))
        elif kind in ("FeatureCollection", "Feature"):
            features = list(_geojson_features(document))
        else:
            raise BoundariesError(f"{path}: neither a GeoJSON FeatureCollection nor a TopoJSON Topology "
                                  f"(type {kind!r}). {HOW_TO_FIX}")
    except BoundariesError:
        raise
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise BoundariesError(f"{path}: a geometry is malformed ({type(error).__name__}: {error}). "
                              f"{HOW_TO_FIX}") from error

    rings_by_code: dict[str, list[Ring]] = defaultdict(list)
    names: dict[str, str] = {}
    for properties, feature_id, rings in features:
        code = _code_of(properties, feature_id)
        if code is None or not rings:
            continue
        for ring in rings:
            if any(not (-180 <= lon <= 180 and -90 <= lat <= 90) for lon, lat in ring):
                raise BoundariesError(f"{path}: district {code} has coordinates that are not longitude and "
                                      f"latitude; reproject the file to WGS 84 (EPSG:4326). {HOW_TO_FIX}")
        rings_by_code[code].extend(rings)
        names[code] = names.get(code) or _name_of(properties)
    if not rings_by_code:
        raise BoundariesError(f"{path}: no Polygon or MultiPolygon feature has a district code. {HOW_TO_FIX}")

    by_province: dict[str, list[DistrictShape]] = defaultdict(list)
    for code in sorted(rings_by_code):
        by_province[code[:2]].append(DistrictShape(code, names[code], tuple(rings_by_code[code])))
    return Boundaries(path, {province: tuple(shapes) for province, shapes in by_province.items()})


def district_choropleth(boundaries: Boundaries, province_code: str, rows: Iterable[Mapping[str, Any]],
                        target: float | Decimal | None = None, *, width: int = 600,
                        max_height: int = 600) -> Choropleth:
    """The districts of one province, coloured by `coverage_rate`; `rows` give `district_code`, `district_name`
    and `coverage_rate` of the province's districts. Districts of the rows without a polygon are `missing`."""
    legend = coverage_legend(target)
    given: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        code = district_code(row["district_code"])
        if code is None or code[:2] != province_code:
            raise ValueError(f"district {row['district_code']!r} is not a district of province {province_code}")
        given[code] = row
    shapes = boundaries.districts_by_province.get(province_code, ())
    drawn = {shape.code for shape in shapes}
    missing = tuple(
        MissingDistrict(code, str(row.get("district_name") or code), as_rate(row.get("coverage_rate")),
                        _district_href(code))
        for code, row in sorted(given.items()) if code not in drawn
    )
    if not shapes:
        return Choropleth(province_code, (), missing, 0, 0, legend)

    project, map_width, map_height = _projection(shapes, width, max_height)
    areas = []
    for shape in shapes:
        row = given.get(shape.code, {})
        rate = as_rate(row.get("coverage_rate"))
        areas.append(DistrictArea(
            code=shape.code,
            name=str(row.get("district_name") or shape.name or shape.code),
            path=_path_data([[project(point) for point in ring] for ring in shape.rings]),
            fill=legend.fill(rate),
            rate=rate,
            href=_district_href(shape.code),
            meets_target=meets_target(rate, legend.target),
        ))
    return Choropleth(province_code, tuple(areas), missing, map_width, map_height, legend)


def _district_href(code: str) -> str:
    return f"../kabupaten/{code}.html"


def _code_of(properties: Mapping[str, Any], feature_id: object) -> str | None:
    lowered = {str(key).lower(): value for key, value in properties.items()}
    for key in CODE_KEYS:
        code = district_code(lowered.get(key))
        if code is not None:
            return code
    return district_code(feature_id)


def _name_of(properties: Mapping[str, Any]) -> str:
    lowered = {str(key).lower(): value for key, value in properties.items()}
    return next((str(lowered[key]).strip() for key in NAME_KEYS if lowered.get(key)), "")


# A feature as the loader sees it, whichever the format: (properties, id, rings in longitude and latitude).
Feature = tuple[Mapping[str, Any], object, list[Ring]]


def _geojson_features(document: Mapping[str, Any]) -> Iterator[Feature]:
    def rings_of(geometry: Mapping[str, Any]) -> Iterator[Ring]:
        if geometry.get("type") == "GeometryCollection":
            for member in geometry["geometries"]:
                yield from rings_of(member)
        else:
            yield from _rings_of(geometry.get("type"), geometry.get("coordinates"), lambda ring: ring)

    features = document["features"] if document["type"] == "FeatureCollection" else [document]
    for feature in features:
        yield feature.get("properties") or {}, feature.get("id"), list(rings_of(feature.get("geometry") or {}))


def _topojson_features(topology: Mapping[str, Any]) -> Iterator[Feature]:
    arcs = _decoded_arcs(topology)

    def ring_of(indexes: list[int]) -> list[Point]:
        points: list[Point] = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            # Consecutive arcs share their joining point.
            points.extend(arc if not points else arc[1:])
        return points

    def walk(geometry: Mapping[str, Any]) -> Iterator[Feature]:
        if geometry.get("type") == "GeometryCollection":
            for member in geometry["geometries"]:
                yield from walk(member)
            return
        rings = list(_rings_of(geometry.get("type"), geometry.get("arcs"), ring_of))
        yield geometry.get("properties") or {}, geometry.get("id"), rings

    for geometry in topology["objects"].values():
        yield from walk(geometry)


def _decoded_arcs(topology: Mapping[str, Any]) -> list[list[Point]]:
    transform = topology.get("transform")
    if not transform:
        return [[(float(position[0]), float(position[1])) for position in arc] for arc in topology["arcs"]]
    (scale_x, scale_y), (translate_x, translate_y) = transform["scale"], transform["translate"]
    decoded = []
    for arc in topology["arcs"]:
        # Quantised arcs are delta-encoded: each position is the step from the previous one.
        x = y = 0
        points = []
        for position in arc:
            x += position[0]
            y += position[1]
            points.append((x * scale_x + translate_x, y * scale_y + translate_y))
        decoded.append(points)
    return decoded


def _rings_of(kind: str | None, parts: Any, ring_of: Callable[[Any], Iterable[Any]]) -> Iterator[Ring]:
    """The rings of a Polygon or MultiPolygon; other geometries (points, lines) have none."""
    if kind == "Polygon":
        polygons = [parts]
    elif kind == "MultiPolygon":
        polygons = parts
    else:
        return
    for polygon in polygons:
        for ring in polygon:
            points = tuple((float(point[0]), float(point[1])) for point in ring_of(ring))
            if len(points) >= 3:
                yield points


def _projection(shapes: Iterable[DistrictShape], width: int, max_height: int) -> tuple[Projection, float, float]:
    """Equirectangular for the province's extent, fitted into width x max_height: (project, width, height)."""
    longitudes = [lon for shape in shapes for ring in shape.rings for lon, _ in ring]
    latitudes = [lat for shape in shapes for ring in shape.rings for _, lat in ring]
    west, east, south, north = min(longitudes), max(longitudes), min(latitudes), max(latitudes)
    # A degree of longitude shrinks with the cosine of the latitude; Indonesia is near the equator, but a
    # province's own middle latitude keeps Aceh's and Papua Selatan's shapes right too.
    squeeze = math.cos(math.radians((north + south) / 2))
    extent_x, extent_y = (east - west) * squeeze, north - south
    scale = min((width - 2 * PADDING) / extent_x if extent_x else math.inf,
                (max_height - 2 * PADDING) / extent_y if extent_y else math.inf)
    if scale == math.inf:
        scale = 1.0

    def project(point: Point) -> Point:
        return PADDING + (point[0] - west) * squeeze * scale, PADDING + (north - point[1]) * scale

    return project, round(extent_x * scale + 2 * PADDING, 1), round(extent_y * scale + 2 * PADDING, 1)


def _path_data(rings: list[list[Point]]) -> str:
    kept = [ring for ring in (_thinned(ring) for ring in rings) if len(ring) >= 3 and _area(ring) >= SMALLEST_RING]
    if not kept:
        # A district too small to see at this scale still needs something to click on: its largest ring, or a
        # small diamond where it is.
        largest = max(rings, key=_area)
        thinned = _thinned(largest)
        if len(thinned) >= 3:
            kept = [thinned]
        else:
            x = sum(point[0] for point in largest) / len(largest)
            y = sum(point[1] for point in largest) / len(largest)
            kept = [[(x, y - 1.5), (x + 1.5, y), (x, y + 1.5), (x - 1.5, y)]]
    return "".join("M" + "L".join(f"{_number(x)},{_number(y)}" for x, y in ring) + "Z" for ring in kept)


def _thinned(ring: list[Point]) -> list[Point]:
    """The ring simplified and rounded to a tenth, without repeated points or the closing one."""
    simplified = _douglas_peucker(_radially_thinned(ring, SIMPLIFY_TOLERANCE / 2), SIMPLIFY_TOLERANCE)
    rounded: list[Point] = []
    for x, y in simplified:
        point = (round(x, 1), round(y, 1))
        if not rounded or point != rounded[-1]:
            rounded.append(point)
    if len(rounded) > 1 and rounded[0] == rounded[-1]:
        rounded.pop()
    return rounded


def _radially_thinned(ring: list[Point], distance: float) -> list[Point]:
    """Points closer than `distance` to the last kept one dropped: a cheap first pass over dense files."""
    kept = [ring[0]]
    for point in ring[1:-1]:
        if math.dist(point, kept[-1]) >= distance:
            kept.append(point)
    kept.append(ring[-1])
    return kept


def _douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    if len(points) <= 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    spans = [(0, len(points) - 1)]
    while spans:  # a stack, not recursion: a coastline can have a hundred thousand points
        first, last = spans.pop()
        farthest, distance = first, 0.0
        for index in range(first + 1, last):
            offset = _distance_to_segment(points[index], points[first], points[last])
            if offset > distance:
                farthest, distance = index, offset
        if distance > tolerance:
            keep[farthest] = True
            spans.append((first, farthest))
            spans.append((farthest, last))
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def _distance_to_segment(point: Point, start: Point, end: Point) -> float:
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = dx * dx + dy * dy
    if length == 0:  # a closed ring's first and last point are one
        return math.dist(point, start)
    along = max(0.0, min(1.0, ((point[0] - start[0]) * dx + (point[1] - start[1]) * dy) / length))
    return math.dist(point, (start[0] + along * dx, start[1] + along * dy))


def _area(ring: list[Point]) -> float:
    """Absolute area by the shoelace formula."""
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
    return abs(twice) / 2


def _number(value: float) -> str:
    """A coordinate with at most one decimal and no trailing `.0`: 12.5, 12."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
