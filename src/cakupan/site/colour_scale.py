"""The one colour scale of the site's maps: a coverage rate to a shade of blue, with the target as a bin edge.

Five shades of ColorBrewer's sequential Blues: one hue from light to dark, so the order reads in grey print and
for every kind of colour blindness. A place without a figure is grey, outside the scale. The tile map of the
provinces and a province's district map colour by the same `Legend`, so a shade means the same rates on every page.

The bins are cut at a third, two thirds, one and four thirds of the target: the two darkest shades are exactly
the places that meet it, and the legend can mark the edge. Without a target the edges are those of a 30 % one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
# Text and marks drawn on each shade: dark on the three light ones, white on the two dark ones.
INKS = ("#1d2733", "#1d2733", "#1d2733", "#ffffff", "#ffffff")
NO_DATA = "#cfcfcf"
NO_DATA_INK = "#1d2733"
# The edges of a 30 % target, used when there is none: round numbers that suit the rates seen so far.
EDGES_WITHOUT_TARGET = 0.30


@dataclass(frozen=True)
class ColourBin:
    colour: str
    ink: str
    lower: float  # inclusive; the first bin also takes rates below it
    upper: float | None  # exclusive; None for the last, open bin
    starts_at_target: bool


@dataclass(frozen=True)
class Legend:
    bins: tuple[ColourBin, ...]
    no_data: str
    no_data_ink: str
    target: float | None

    def bin_of(self, rate: float | None) -> ColourBin | None:
        if rate is None:
            return None
        for colour_bin in self.bins:
            if colour_bin.upper is None or rate < colour_bin.upper:
                return colour_bin
        raise AssertionError("the last bin is open")

    def fill(self, rate: float | None) -> str:
        colour_bin = self.bin_of(rate)
        return self.no_data if colour_bin is None else colour_bin.colour

    def ink(self, rate: float | None) -> str:
        colour_bin = self.bin_of(rate)
        return self.no_data_ink if colour_bin is None else colour_bin.ink


def as_rate(value: float | Decimal | None) -> float | None:
    return None if value is None else float(value)


def coverage_legend(target: float | Decimal | None) -> Legend:
    """The bins for a target given as a fraction (0.30), or None."""
    unit = EDGES_WITHOUT_TARGET if target is None else float(target)
    if unit <= 0:
        raise ValueError(f"a coverage target must be a positive fraction such as 0.30, not {target!r}")
    # Rounded so that a 30 % target gives the edges 0.1, 0.2, 0.3, 0.4 and not 0.09999999999999999; the target's
    # own edge is the target itself, so a rate in the two darkest bins always meets it.
    edges = [0.0, round(unit / 3, 9), round(unit * 2 / 3, 9), unit, round(unit * 4 / 3, 9)]
    uppers: list[float | None] = [*edges[1:], None]
    bins = tuple(
        ColourBin(colour, ink, lower, upper, starts_at_target=target is not None and index == 3)
        for index, (colour, ink, lower, upper) in enumerate(zip(BLUES, INKS, edges, uppers, strict=True))
    )
    return Legend(bins, NO_DATA, NO_DATA_INK, as_rate(target))


def meets_target(rate: float | None, target: float | None) -> bool | None:
    """None when either is unknown: a place without a figure neither meets nor misses the target."""
    if rate is None or target is None:
        return None
    return rate >= target
