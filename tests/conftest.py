"""Fixtures shared by every test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from content_site import Site

from publisher.store import Store


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """An empty site in a temp folder; add case files with `site.add(...)`."""
    return Site(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real state file in a temp folder, open."""
    with Store.open(tmp_path / "state.sqlite3") as opened:
        yield opened
