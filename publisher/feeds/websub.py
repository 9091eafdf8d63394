"""Tell a WebSub hub that feeds changed (HTTP POST hub.mode=publish, hub.url=<feed>)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlencode

from publisher import __version__
from publisher.errors import Problem

log = logging.getLogger(__name__)


def notify_hub(hub_url: str, feed_urls: Sequence[str], timeout: float) -> tuple[Problem, ...]:
    """POST a publish ping per feed URL; problems are warnings, an unreachable hub never raises."""
    problems: list[Problem] = []
    for done, feed_url in enumerate(feed_urls):
        rest = len(feed_urls) - done - 1
        untold = f"; {rest} other changed feed(s) not pinged" if rest else ""
        body = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode("ascii")
        request = urllib.request.Request(
            hub_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": f"publisher/{__version__}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            # A hub that refuses one ping refuses the rest: one warning, not one per feed.
            message = f"refused the ping for {feed_url} (HTTP {e.code}){untold}"
            problems.append(_warning(hub_url, message + "; readers see them at their next poll"))
            break
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            problems.append(
                _warning(
                    hub_url,
                    f"cannot be reached ({reason}): readers will see the {len(feed_urls)} "
                    "changed feed(s) at their next poll; check [feeds] websub_hub",
                )
            )
            # One failure to connect says the rest would fail too, each after a timeout.
            break
        log.info("websub: %s accepted %s (HTTP %d)", hub_url, feed_url, status)
    return tuple(problems)


def _warning(hub_url: str, message: str) -> Problem:
    return Problem("[feeds] websub_hub", f"hub {hub_url!r} {message}", warning=True)
