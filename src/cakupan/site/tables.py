"""The tables of the reviewers' pages as data: which columns, each cell's text as a reader reads it and the
value it sorts by, and the CSV a reader can download beside it (the rows' raw values as the marts hold them,
every column the page read, not only those shown). The template `partials/table.html.j2` draws them; this
module never writes HTML.

Cells are written here rather than by a template macro per cell: a national site has some 500,000 of them,
and a macro call each made the build several times slower (docs/benchmark-notes.md)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from cakupan.site import site_format as fmt
from cakupan.site.rendering import Bilingual, sort_value

# How a column's values are written (the template's filters of site_format); text columns sort as words.
KINDS = ("text", "code", "link", "number", "decimal", "percent", "points", "rupiah", "score", "rank", "yes_no")


@dataclass(frozen=True)
class Column:
    key: str
    header: Bilingual
    kind: str = "text"
    # link: the page it links to, site-relative, a format of the row's keys ("kabupaten/{district_code}.html")
    href: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "code", "link", "yes_no")


class Cell(NamedTuple):
    """A cell as the template writes it (a tuple: a national site has some 500,000 cells)."""

    text: str | Bilingual
    sort: str | None = None  # numeric cells: their raw value ("" when missing); None for a text cell
    href: str | None = None
    top3: bool = False


_YES, _NOT_YET = Bilingual("ya", "yes"), Bilingual("belum", "not yet")
_WRITERS = {"number": fmt.number, "decimal": lambda value: fmt.number(value, 1),
            "percent": lambda value: fmt.percent(value, 2), "points": fmt.points, "rupiah": fmt.rupiah,
            "score": fmt.score, "rank": lambda value: fmt.DASH if value is None else str(value)}


def _cell(column: Column, row: Mapping) -> Cell:
    value = row[column.key]
    if column.kind in _WRITERS:
        return Cell(_WRITERS[column.kind](value), sort_value(value),
                    top3=column.kind == "rank" and bool(row.get("is_top3")))
    if column.kind == "yes_no":
        return Cell(fmt.DASH if value is None else _YES if value else _NOT_YET)
    if value is None:
        return Cell(fmt.DASH)
    if isinstance(value, (list, tuple)):  # notes: a line each, in both languages when they have both
        items = [item if isinstance(item, Bilingual) else Bilingual(str(item), str(item)) for item in value]
        return Cell(Bilingual(" | ".join(item.indonesian for item in items),
                              " | ".join(item.english for item in items)))
    href = column.href.format(**row) if column.kind == "link" and column.href else None
    return Cell(value if isinstance(value, Bilingual) else str(value), href=href)


@dataclass(frozen=True)
class Table:
    slug: str  # unique on its page: the CSV's name and the table's id
    caption: Bilingual
    columns: Sequence[Column]
    rows: Sequence[Mapping]
    empty: Bilingual
    # What the CSV holds: these keys of the rows, in this order (default: every key of the first row).
    csv_columns: Sequence[str] | None = None
    # A row's anchor id (e.g. a village on its district page, which search links to): a format of its keys.
    row_id: str | None = None
    csv_href: str = field(default="", compare=False)
    # The rows the page shows, when it shows fewer than the CSV holds (`rows`), with why, in both languages.
    page_rows: Sequence[Mapping] | None = None
    page_rows_note: Bilingual | None = None

    @property
    def shown(self) -> Sequence[Mapping]:
        return self.rows if self.page_rows is None else self.page_rows

    def cells(self) -> list[tuple[str | None, list[Cell]]]:
        """Each shown row's anchor id (or None) and its cells, in the columns' order."""
        return [(self.row_id.format(**row) if self.row_id else None, [_cell(column, row) for column in self.columns])
                for row in self.shown]


def _csv_value(value: object) -> object:
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return "" if value is None else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Bilingual):
        return value.indonesian
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return " | ".join(_csv_value(item) for item in value)
    return value


def with_csv(table: Table, docs_dir: Path, page_path: str) -> Table:
    """Write the table's CSV next to its page (`<page>.<slug>.csv`) and return the table linking it."""
    page_stem = page_path.rsplit(".", 1)[0]
    relative = f"{page_stem}.{table.slug}.csv"
    columns = list(table.csv_columns or (table.rows[0].keys() if table.rows else [c.key for c in table.columns]))
    path = docs_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_value(row.get(column)) for column in columns] for row in table.rows)
    return replace(table, csv_href=relative.rsplit("/", 1)[-1])
