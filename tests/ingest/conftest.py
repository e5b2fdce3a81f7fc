"""Fixtures of the ingest tests."""

from __future__ import annotations

import os

import pytest

from cakupan.ingest.pseudonymise import Pseudonymiser


@pytest.fixture
def pseudonymiser():
    """The session's key (tests/conftest.py sets CAKUPAN_PII_KEY), as the loader's tasks take it."""
    return Pseudonymiser(os.environ["CAKUPAN_PII_KEY"])
