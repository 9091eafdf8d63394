"""Progress bars on a terminal for long work: the CLI's side of `RunOptions.progress`."""

from __future__ import annotations

import sys
from typing import Any

import click

# Work shorter than this (files, messages) ends before a bar would mean anything.
_SHOWN_FROM = {"reading posts": 2000, "sending": 20}


class ProgressBar:
    """Progress bars on stderr for long work (reading many posts, sending), shown only on a
    terminal (never under cron, whose mail would keep every line)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._what = ""
        self._done = 0

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled or total < _SHOWN_FROM.get(what, 20):
            return
        if self._bar is None or what != self._what:
            self.close()
            self._bar = click.progressbar(length=total, label=what, file=sys.stderr)
            self._bar.__enter__()
            self._what, self._done = what, 0
        self._bar.update(done - self._done)
        self._done = done
        if done >= total:
            self.close()  # its line ended, before whatever is printed next

    def close(self) -> None:
        """End the bar shown, if any."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
