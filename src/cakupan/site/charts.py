"""The reviewers' charts as data for inline SVG (`partials/bar_chart.html.j2`, `partials/line_chart.html.j2`):
drawn when the site is built, so a page needs nothing from the internet, works from the file system, and
prints. Ranked horizontal bars and a line over time are enough for the reviewers' pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cakupan.site.rendering import Bilingual

# Label widths are estimated from the longest name (system-ui at 12 px averages under 7 px a character), so a
# long district name ("Kabupaten Kepulauan Siau Tagulandang Biaro") is never cut off.
_CHARACTER_PX = 6.8
_ROW_PX, _BARS_PX, _VALUE_PX = 22, 360, 90


@dataclass(frozen=True)
class Bar:
    name: str
    label: str
    y: float
    width: float  # 0 for a missing value: only its label shows


@dataclass(frozen=True)
class BarChart:
    slug: str
    caption: Bilingual
    bars: list[Bar]
    left: float  # where the bars start, after the longest name
    width: float
    height: float
    target_x: float | None
    target_label: str


def bar_chart(slug: str, caption: Bilingual, items: Sequence[tuple[str, float | None]],
              label: Callable[[float | None], str], *, target: float | None = None,
              target_label: str = "") -> BarChart | None:
    """One bar per (name, value), in the order given; `label` writes each value. None without items."""
    if not items:
        return None
    left = 16 + _CHARACTER_PX * max(len(name) for name, _ in items)
    largest = max([value for _, value in items if value is not None] + [target or 0, 1e-12])
    scale = _BARS_PX / largest
    bars = [Bar(name=name, label=label(value), y=10 + index * _ROW_PX,
                width=round(value * scale, 1) if value is not None and value > 0 else 0.0)
            for index, (name, value) in enumerate(items)]
    return BarChart(slug=slug, caption=caption, bars=bars, left=round(left, 1),
                    width=round(left + _BARS_PX + _VALUE_PX, 1), height=_ROW_PX * len(items) + 30,
                    target_x=round(left + target * scale, 1) if target is not None else None,
                    target_label=target_label)


@dataclass(frozen=True)
class Point:
    day: dt.date
    label: str
    x: float
    y: float
    labelled: bool  # the first and the last point carry their value and month


@dataclass(frozen=True)
class LineChart:
    slug: str
    caption: Bilingual
    points: list[Point]
    width: int
    height: int
    pad: int

    @property
    def path(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


def line_chart(slug: str, caption: Bilingual, series: Sequence[tuple[dt.date, float | None]],
               label: Callable[[float | None], str]) -> LineChart | None:
    """Values over time, one point per date; None when no value is known."""
    known = [(day, value) for day, value in series if value is not None]
    if not known:
        return None
    width, height, pad = 560, 180, 40
    values = [value for _, value in known]
    low, high = min(values + [0.0]), max(values) or 1.0
    first, last = known[0][0], known[-1][0]
    span = max((last - first).days, 1)
    points = []
    for index, (day, value) in enumerate(known):
        x = pad + (day - first).days / span * (width - 2 * pad) if len(known) > 1 else width / 2
        y = height - pad - (value - low) / ((high - low) or 1.0) * (height - 2 * pad)
        points.append(Point(day=day, label=label(value), x=round(x, 1), y=round(y, 1),
                            labelled=index in (0, len(known) - 1)))
    return LineChart(slug=slug, caption=caption, points=points, width=width, height=height, pad=pad)
