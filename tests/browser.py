"""Headless Debian Chromium for tests: what a person sees of a page (a screenshot read back with
Pillow) and the document the browser built (--dump-dom)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    # The screenshot waits for the page to be laid out and painted whole, also on a busy
    # machine.
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=5000",
)
Color = tuple[int, int, int]


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert Path(CHROMIUM).exists(), "chromium is missing: apt-get install chromium"
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def screenshot(url: str, png: Path, *, width: int = 1000, height: int = 1400) -> Image.Image:
    """The page at `url` as Chromium shows it in a window of `width` x `height`, in RGB."""
    _chromium(png.parent / "chromium-profile", f"--window-size={width},{height}",
              f"--screenshot={png}", url)  # fmt: skip
    with Image.open(png) as shot:
        return shot.convert("RGB")


def dump_dom(url: str, profile: Path) -> str:
    """The document Chromium built from `url`, serialized (an XML feed stays XML)."""
    return _chromium(profile, "--dump-dom", url).stdout


def rows_with(image: Image.Image, color: Color, *, at_least: int = 3) -> list[int]:
    """The rows of `image` holding `color` (exactly) in at least `at_least` pixels."""
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    return [
        y
        for y in range(height)
        if sum(1 for x in range(0, width) if pixels[x, y] == color) >= at_least
    ]


def bands(rows: list[int], *, gap: int = 14) -> int:
    """How many blocks the rows make, rows nearer than `gap` pixels counting as one."""
    count, last = 0, None
    for y in rows:
        if last is None or y - last > gap:
            count += 1
        last = y
    return count


def has_color(image: Image.Image, color: Color) -> bool:
    """Whether any pixel of `image` is exactly `color`."""
    return any(c == color for _, c in (image.getcolors(image.size[0] * image.size[1]) or []))


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`folder` served over HTTP on 127.0.0.1 until the block ends; yields its base URL."""
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the stdlib declares it so)
        **SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/xml",
        ".css": "text/css",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet
