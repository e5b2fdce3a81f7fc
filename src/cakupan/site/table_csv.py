"""A table of the reviewers' site as a CSV file beside its page, for the table's download link.

The values are the raw ones the page formats, written as the data package's CSVs write them (data_package.py):
dates ISO 8601, decimals as PostgreSQL writes them (`str(Decimal)`), booleans true/false, null empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath


def csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)  # a Decimal too: str() writes it as PostgreSQL does


def write_table_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str], docs_dir: Path,
                    site_path: str) -> str:
    """Write `rows` (the `columns` of each, in that order, under a header of their names) to `site_path`, a
    path inside the docs site such as "unduh/provinsi/13-kabupaten.csv", and return it for the page's
    `<a download>` link (prefixed with the page's way up to the site's root)."""
    relative = PurePosixPath(site_path)
    if relative.is_absolute() or ".." in relative.parts or not relative.name.endswith(".csv"):
        raise ValueError(f"{site_path!r} is not a CSV path inside the docs site: give one like 'unduh/nasional.csv'.")
    path = docs_dir.joinpath(*relative.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a reader downloading while the site is rebuilt gets the old file or the new one.
    unfinished = path.with_name(f".{path.name}.{os.getpid()}")
    with unfinished.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([csv_value(row[column]) for column in columns] for row in rows)
    unfinished.replace(path)
    return relative.as_posix()
