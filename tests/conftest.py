"""Fixtures shared by every test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from content_site import Site
from hub_server import Hub, running_hub

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


@pytest.fixture
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    """A WebSub hub on 127.0.0.1 answering 204, or the status given by indirect parametrize."""
    with running_hub(getattr(request, "param", 204)) as server:
        yield server
