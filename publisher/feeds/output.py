"""Put rendered feeds on disk (atomically, only when they changed) and the files beside them."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from publisher.atomic import differs, write_all_atomic
from publisher.feeds.model import FORMAT_LABELS, MEDIA_TYPES, FeedFile


def discovery_snippet(title: str, files: Sequence[FeedFile]) -> bytes:
    """`<link rel="alternate">` tags for the site's `<head>`, one per file of the site feed."""
    lines = [
        f'<link rel="alternate" type="{MEDIA_TYPES[f.format]}" '
        f'title="{html.escape(title)} ({FORMAT_LABELS[f.format]})" '
        f'href="{html.escape(f.url)}">'
        for f in files
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def put_all(files: Sequence[tuple[Path, bytes]], *, dry_run: bool) -> list[bool]:
    """Write each file unless it already holds its data; whether each changed (or would)."""
    if not dry_run:
        return write_all_atomic(files)
    return [differs(path, data) for path, data in files]
