"""How a run is asked to go: the one options value `pipeline.run` hands down its stages."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

Progress = Callable[[str, int, int], None]
"""Called with (what, done, total) as long work advances ("reading posts", "sending"): a
progress bar on a terminal."""


def _never() -> bool:
    return False


@dataclass(frozen=True)
class RunOptions:
    """What a run does beyond its config and moment.

    `dry_run` renders and reports everything and writes, records and sends nothing;
    `drafts` reads the posts under `_drafts/` too (`check`, `index`); `feeds` builds the
    feeds; `newsletters` names the newsletters to make and send (None: every due one,
    empty: none); `stop()` turns true when the run must end (SIGTERM); `progress` hears
    how long work (reading posts, sending) advances; `environ` holds the secrets;
    `processes` caps how many processes large work is split over (None: one per CPU, see
    `parallel`).
    """

    dry_run: bool = False
    drafts: bool = False
    feeds: bool = True
    newsletters: Collection[str] | None = None
    stop: Callable[[], bool] = _never
    progress: Progress | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    processes: int | None = None

    def wants(self, newsletter_id: str) -> bool:
        """Whether this run makes and sends `newsletter_id`."""
        return self.newsletters is None or newsletter_id in self.newsletters


DEFAULTS = RunOptions()
"""A whole run for real, every stage, secrets from this process's environment."""
