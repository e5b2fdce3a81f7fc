"""Charts as inline SVG: drawn when the site is built, so a page needs nothing from the internet to show
them, works from the file system, and prints. Two kinds are enough for the reviewers' pages: ranked
horizontal bars and a line over time."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence

_BAR = "#0b6fb8"
_TARGET = "#c0392b"
_TEXT = "#1d2733"


def bar_chart(items: Sequence[tuple[str, float | None]], label: Callable[[float | None], str], *,
              title: str, target: float | None = None, target_label: str = "") -> str:
    """One bar per (name, value), in the order given; `label` writes each value. An optional target draws a
    vertical line. Missing values get no bar, only their label."""
    row, left, width, right = 22, 210, 360, 90
    height = row * len(items) + 30
    largest = max([value for _, value in items if value is not None] + [target or 0, 1e-12])
    scale = width / largest
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {left + width + right} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{html.escape(title)}</title>']
    for index, (name, value) in enumerate(items):
        y = 10 + index * row
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12" fill="{_TEXT}">'
                     f'{html.escape(name)}</text>')
        if value is not None and value > 0:
            parts.append(f'<rect x="{left}" y="{y + 3}" width="{value * scale:.1f}" height="{row - 7}" fill="{_BAR}"/>')
        end = left + (value * scale if value is not None and value > 0 else 0)
        parts.append(f'<text x="{end + 5:.1f}" y="{y + 14}" font-size="12" fill="{_TEXT}">{label(value)}</text>')
    if target is not None:
        x = left + target * scale
        parts.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 18}" stroke="{_TARGET}" '
                     f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{height - 5}" font-size="11" '
                     f'text-anchor="middle" fill="{_TARGET}">{html.escape(target_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: Sequence[tuple[dt.date, float | None]], label: Callable[[float | None], str], *,
               title: str) -> str:
    """Values over time, one point per date, the first and last labelled."""
    known = [(day, value) for day, value in points if value is not None]
    width, height, pad = 560, 180, 40
    if not known:
        return ""
    values = [value for _, value in known]
    low, high = min(values + [0.0]), max(values) or 1.0
    first, last = known[0][0], known[-1][0]
    span = max((last - first).days, 1)

    def xy(day: dt.date, value: float) -> tuple[float, float]:
        x = pad + (day - first).days / span * (width - 2 * pad) if len(known) > 1 else width / 2
        y = height - pad - (value - low) / ((high - low) or 1.0) * (height - 2 * pad)
        return x, y

    coordinates = [xy(day, value) for day, value in known]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{html.escape(title)}</title>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#b9c6d3"/>',
             f'<polyline points="{path}" fill="none" stroke="{_BAR}" stroke-width="2"/>']
    for (day, value), (x, y) in zip(known, coordinates, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_BAR}">'
                     f'<title>{day}: {label(value)}</title></circle>')
    for index in sorted({0, len(known) - 1}):  # the first and the last point, once when they are the same
        (day, value), (x, y) = known[index], coordinates[index]
        parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="12" text-anchor="middle" fill="{_TEXT}">'
                     f'{label(value)}</text><text x="{x:.1f}" y="{height - pad + 16}" font-size="11" '
                     f'text-anchor="middle" fill="{_TEXT}">{day.strftime("%m/%Y")}</text>')
    parts.append("</svg>")
    return "".join(parts)
