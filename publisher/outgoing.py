"""`OutgoingMessage`: one finished email for one subscriber, as delivery receives it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingMessage:
    """A message ready to send: the journal keys it on (`issue_id`, `subscriber_id`)."""

    issue_id: str
    subscriber_id: int
    recipient: str
    sender: str
    message_id: str
    data: bytes
