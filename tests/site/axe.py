"""axe-core, the accessibility engine, run inside a Playwright page: fetched from npm once, verified by sha256."""

from __future__ import annotations

import tarfile
from pathlib import Path

from cakupan.platform.npm_package import NpmPackage

AXE = NpmPackage("axe-core", "4.11.0", "39bed7d72308f6d620789c169d699bfd7e8da80f65b545821a6b2215c3e83107")
# WCAG 2.1 A and AA, the level public-sector sites in Indonesia are asked to meet.
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source(cache_dir: Path) -> str:
    with tarfile.open(AXE.ensure(cache_dir)) as archive:
        return archive.extractfile("package/axe.min.js").read().decode("utf-8")


def serious_findings(page, source: str) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each (rule: where)."""
    page.add_script_tag(content=source)
    violations = page.evaluate(
        "async (rules) => (await axe.run(document, {runOnly: {type: 'tag', values: rules}})).violations", RULES)
    return [f"{found['id']} ({found['impact']}): " + ", ".join(node["target"][0] for node in found["nodes"][:3])
            for found in violations if found["impact"] in ("serious", "critical")]
