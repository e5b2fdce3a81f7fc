"""The reviewers' site's Jinja2 environment: the package's templates, autoescaped, with both languages and the
Indonesian number formats as globals, and the writing of a page and of the site's static assets.

Every reader-facing word goes through `t(indonesian, english)` in a template (tests/site/test_templates.py
checks that no bare word is left outside it): both languages are in the page and a button shows one.
Python code hands the templates data only; a text it prepares itself is a `Bilingual`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from cakupan.reference.region_package import ATTRIBUTION, ATTRIBUTION_EN
from cakupan.site import site_format

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# The site's own CSS and scripts are copied here, beside the pages, and linked relatively: the site works from
# the file system as well as served.
ASSETS_FOLDER = "assets"
# Indonesia's western time zone, which the ministry works in: every time on the site is written in it.
WIB = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class Bilingual:
    """A text the Python side prepares, in both languages."""

    indonesian: str
    english: str


# Memoised: a national site asks for the same few texts (yes, not yet, top three) hundreds of thousands of times.
@functools.lru_cache(maxsize=4096)
def t(indonesian: str | Bilingual, english: str | None = None) -> Markup:
    """Both languages, each in its own element with its `lang`; the page shows the one chosen."""
    if isinstance(indonesian, Bilingual):
        indonesian, english = indonesian.indonesian, indonesian.english
    english = indonesian if english is None else english
    return Markup('<span class="lang-id" lang="id">{}</span><span class="lang-en" lang="en">{}</span>').format(
        indonesian, english)


def wib(moment: dt.datetime | None) -> str:
    """A time as the ministry reads it: 2026-12-07 08:15 WIB (a naive time is taken as UTC)."""
    if moment is None:
        return site_format.DASH
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(WIB):%Y-%m-%d %H:%M} WIB"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(t=t, wib=wib, attribution=Bilingual(ATTRIBUTION, ATTRIBUTION_EN), dash=site_format.DASH,
                       assets=ASSETS_FOLDER, percent=site_format.percent)
    for name in ("number", "percent", "points", "rupiah", "score"):
        env.filters[name] = getattr(site_format, name)
    env.filters["sort_value"] = sort_value
    env.filters["code_spans"] = code_spans
    env.tests["bilingual"] = lambda value: isinstance(value, Bilingual)
    return env


def code_spans(text: str) -> Markup:
    """A doc block's prose as one line, its `code` spans as code (the rest escaped)."""
    parts = re.split(r"`([^`]+)`", " ".join(text.split()))
    return Markup("").join(Markup("<code>{}</code>").format(part) if index % 2 else escape(part)
                           for index, part in enumerate(parts))


def sort_value(value: object) -> str:
    """What a numeric cell sorts by: its raw value, empty when missing (sorted last)."""
    return "" if value is None else f"{float(value):.10g}"


def render(template: str, **data: object) -> str:
    return environment().get_template(template).render(**data)


def write_page(docs_dir: Path, relative: str, template: str, **data: object) -> Path:
    """Render a page to `docs_dir/relative`, given `root`: the relative path from it back to the site root."""
    path = docs_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    root = "../" * relative.count("/")
    path.write_text(render(template, root=root, **data), encoding="utf-8")
    return path


def copy_assets(docs_dir: Path) -> None:
    """The CSS and scripts every page links, under `assets/` of the site."""
    target = docs_dir / ASSETS_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for source in STATIC.iterdir():
        if source.is_file():
            shutil.copyfile(source, target / source.name)
