"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest
from content_site import Site


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """An empty site in a temp folder; add case files with `site.add(...)`."""
    return Site(tmp_path)
