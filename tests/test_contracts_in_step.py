"""docs/contracts/ is the repository's copy of the interface contracts, which users read without `../shared`.
Where the shared originals sit beside the checkout (the team's machines and CI), the copy must equal them."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COPY = PROJECT_ROOT / "docs" / "contracts"
SHARED = PROJECT_ROOT.parent / "shared" / "spec"


def test_every_contract_has_a_copy_in_the_repository():
    assert {p.name for p in COPY.glob("*.md")} >= {"branch-export-v1.md", "marts-v1.md", "benchmarks.md"}


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/spec beside this checkout to compare with")
def test_the_copy_is_in_step_with_the_shared_contracts():
    shared = {p.name: p.read_bytes() for p in SHARED.glob("*.md")}
    copied = {p.name: p.read_bytes() for p in COPY.glob("*.md")}
    stale = sorted(name for name in shared if copied.get(name) != shared[name])
    assert not stale, f"docs/contracts/ differs from ../shared/spec/ for {stale}: copy them again"
