"""What a pass over the journal tells: its counts, and the readers its answers were about.

The journal writer (ledger.py) notes each reader an answer was about, by what became of
the row; `told` turns those notes into the pass's problems: readers bounced or refused
are named one by one (up to a limit), the rest are summed up by kind, each with the
setting that governs it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from publisher.config import DeliveryConfig
from publisher.errors import Problem

_LISTED = 20  # readers named one by one in a pass's problems; the rest are counted


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass over the journal did."""

    sent: int = 0
    bounced: int = 0
    failed: int = 0
    cancelled: int = 0
    deferred: int = 0
    unknown: int = 0
    problems: tuple[Problem, ...] = ()

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        """Both passes' counts and problems."""
        return DeliveryReport(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(DeliveryReport))
        )


def told(
    where: str, server: str, notes: dict[str, list[str]], config: DeliveryConfig
) -> list[Problem]:
    """The problems to report for a pass's `notes` (kind -> "'reader' (answer)" each), about
    the settings `where` and the server `server`."""
    found: list[Problem] = []
    for what, message, warning in (
        ("bounced", "{server} refused {one}: marked bounced", True),
        ("soft_bounced", "{server} refused {one}: soft bounces reached "
         f"{config.soft_bounce_limit} in a row ([delivery] soft_bounce_limit): marked "
         "bounced", True),
        ("refused", "{server} refused the message to {one}: not sent to this subscriber",
         False),
    ):  # fmt: skip
        listed = notes.get(what, [])
        found += [
            Problem(where, message.format(server=server, one=one), warning=warning)
            for one in listed[:_LISTED]
        ]
        if len(listed) > _LISTED:
            found.append(
                Problem(where, f"and {len(listed) - _LISTED} more like these", warning=warning)
            )
    summaries = (
        ("soft", "soft bounce(s), the reader kept until [delivery] soft_bounce_limit in a "
         "row", True),
        ("deferred", "deferred by the server, each tried again after its own wait "
         "([delivery] retry_after, doubling)", True),
        ("policy", "refused by a policy that may be about us, not them: nobody marked "
         "bounced, each tried again after [delivery] retry_after", True),
        ("set_aside", "set aside: the server broke the session at their RCPT TO (no "
         "answer in time, or one that is not SMTP); no attempt counted, each tried after "
         "the others next time", True),
        ("unanswered", "refused while the server accepted nobody in this pass: nobody "
         "marked bounced, each tried again after [delivery] retry_after", True),
        ("unknown", "sent with no answer after the data: they may have arrived, and are "
         f"sent again after [delivery] retry_after (at most {config.unknown_retries} "
         "time(s), [delivery] unknown_retries)", True),
        ("unknown_kept", "sent with no answer after the data, again: they may have "
         "arrived and are left 'unknown' ([delivery] unknown_retries)", False),
        ("gave_up", f"given up after {config.max_attempts} attempts ([delivery] "
         "max_attempts): marked failed", False),
    )  # fmt: skip
    for what, text, warning in summaries:
        listed = notes.get(what, [])
        if listed:
            first = ", ".join(listed[:3]) + (", ..." if len(listed) > 3 else "")
            found.append(
                Problem(where, f"{len(listed)} message(s) {text}: {first}", warning=warning)
            )
    return found
