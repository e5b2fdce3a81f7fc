"""The national page's map of the provinces: one equal square per province, in its rough place in the archipelago.

A tile map instead of the provinces' outlines: DKI Jakarta and DI Yogyakarta are as visible as Papua, nothing needs
a boundary file, and the whole map is 38 rectangles. Where each province sits is the code list province_tiles.csv
beside this module (Kemendagri code, column from west to east, row from north to south). This module only
prepares the figures; the template partials/tile_map.html.j2 draws them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from cakupan.site.colour_scale import Legend, as_rate, coverage_legend, meets_target

CODE_LIST = "province_tiles.csv"
TILE = 40  # side of a tile in the SVG's user units
GAP = 4
MARGIN = 2


@dataclass(frozen=True)
class TilePosition:
    column: int
    row: int


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    abbreviation: str  # the ISO 3166-2 suffix (JB for ID-JB) when the rows give it, else ""
    column: int
    row: int
    x: int
    y: int
    width: int
    height: int
    fill: str
    ink: str  # colour of text and marks drawn on the tile
    rate: float | None
    href: str
    meets_target: bool | None


@dataclass(frozen=True)
class TileMap:
    tiles: tuple[Tile, ...]
    width: int  # the SVG's viewBox is "0 0 width height"
    height: int
    legend: Legend


@cache
def tile_positions() -> Mapping[str, TilePosition]:
    """The code list, read once per process: province code -> place on the grid."""
    text = resources.files(__package__).joinpath(CODE_LIST).read_text(encoding="utf-8")
    positions = {row["province_code"]: TilePosition(int(row["column"]), int(row["row"]))
                 for row in csv.DictReader(text.splitlines())}
    return MappingProxyType(positions)


def province_tiles(rows: Iterable[Mapping[str, Any]], target: float | Decimal | None) -> TileMap:
    """A tile for every province of the code list; `rows` give `province_code`, `province_name`, `coverage_rate`
    (a fraction, or None) and optionally `province_iso`. A province without a row is drawn without data."""
    positions = tile_positions()
    given: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        code = str(row["province_code"])
        if code not in positions:
            raise ValueError(f"province {code!r} ({row.get('province_name')}) has no tile: add it to "
                             f"src/cakupan/site/{CODE_LIST} with its column and row")
        given[code] = row
    legend = coverage_legend(target)
    tiles = []
    for code, position in sorted(positions.items()):
        row = given.get(code, {})
        rate = as_rate(row.get("coverage_rate"))
        iso = str(row.get("province_iso") or "")
        tiles.append(Tile(
            code=code,
            name=str(row.get("province_name") or ""),
            abbreviation=iso.removeprefix("ID-"),
            column=position.column,
            row=position.row,
            x=MARGIN + position.column * (TILE + GAP),
            y=MARGIN + position.row * (TILE + GAP),
            width=TILE,
            height=TILE,
            fill=legend.fill(rate),
            ink=legend.ink(rate),
            rate=rate,
            href=f"provinsi/{code}.html",
            meets_target=meets_target(rate, legend.target),
        ))
    columns = 1 + max(position.column for position in positions.values())
    rows_of_tiles = 1 + max(position.row for position in positions.values())
    return TileMap(
        tiles=tuple(tiles),
        width=2 * MARGIN + columns * (TILE + GAP) - GAP,
        height=2 * MARGIN + rows_of_tiles * (TILE + GAP) - GAP,
        legend=legend,
    )
