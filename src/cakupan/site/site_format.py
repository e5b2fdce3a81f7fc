"""Numbers as Indonesian readers write them: 1.234.567, 35,7 %, Rp 1.500.000. A missing value is a dash."""

from __future__ import annotations

from decimal import Decimal

DASH = "\u2013"  # an en dash: the page shows it as is


def number(value: int | float | Decimal | None, decimals: int = 0) -> str:
    if value is None:
        return DASH
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(rate: float | Decimal | None, decimals: int = 1) -> str:
    """A fraction (0.357) as a percentage (35,7 %)."""
    return DASH if rate is None else f"{number(float(rate) * 100, decimals)} %"


def points(value: float | Decimal | None, decimals: int = 2) -> str:
    """Percentage points with a sign: +1,25 poin."""
    if value is None:
        return DASH
    sign = "+" if value > 0 else ""
    return f"{sign}{number(value, decimals)} poin"


def rupiah(value: int | float | Decimal | None) -> str:
    return DASH if value is None else f"Rp {number(value)}"


def score(value: float | Decimal | None) -> str:
    return number(value, 2)
