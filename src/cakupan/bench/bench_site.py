"""The reviewers' site at national size: how many pages, how long its build took, and what its heaviest page
weighs (the HTML with the stylesheets and scripts it loads from the site), for issue 30's targets: a build under
about a minute and no page over about 1 MB. dbt docs and GX Data Docs are measured apart: they are the tools'
own single pages, not the reviewers'."""

from __future__ import annotations

import re
from pathlib import Path

_LINKED = re.compile(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"')
TOOLS_FOLDERS = ("dbt", "gx")


def page_weight(page: Path) -> int:
    """Bytes a reader's browser loads for the page: its HTML and the site's own files it links."""
    html = page.read_text(encoding="utf-8")
    linked = {(page.parent / href).resolve() for href in _LINKED.findall(html)
              if not href.startswith(("http:", "https:", "data:"))}
    return page.stat().st_size + sum(path.stat().st_size for path in linked if path.is_file())


def site_figures(docs_dir: Path, build_seconds: float | None) -> dict:
    pages = [page for page in docs_dir.rglob("*.html")
             if page.relative_to(docs_dir).parts[0] not in TOOLS_FOLDERS]
    weights = {page.relative_to(docs_dir).as_posix(): page_weight(page) for page in pages}
    heaviest = max(weights, key=weights.get) if weights else None
    dbt_docs = docs_dir / "dbt" / "index.html"
    return {
        "build_docs_s": round(build_seconds, 1) if build_seconds is not None else None,
        "pages": len(pages),
        "heaviest_page": heaviest,
        "heaviest_page_kib": round(weights[heaviest] / 1024, 1) if heaviest else None,
        "dbt_docs_kib": round(dbt_docs.stat().st_size / 1024, 1) if dbt_docs.exists() else None,
    }
