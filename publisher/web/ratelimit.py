"""Rate limits of the subscribe form, per client and per address, behind one door.

The counts live in this process's memory (`limits`' moving window): `publisher serve` is
one process, so they hold; several processes would each count on their own, and a
restart forgets them. The confirmation email itself is limited in the state file (at
most one per address per `[web] resend_after`), whatever the process.
"""

from __future__ import annotations

import hashlib

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class FormLimits:
    """`client_limit` posts per client address and `address_limit` per email address."""

    def __init__(self, client_limit: str, address_limit: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._client = parse(client_limit)
        self._address = parse(address_limit)

    def client_allowed(self, client: str) -> bool:
        """Count one post from `client`; False once it is over its limit."""
        return self._limiter.hit(self._client, "client", client)

    def address_allowed(self, key: str) -> bool:
        """Count one request for the case-folded address `key`; False once over the limit."""
        # Kept hashed: the memory of the process holds no address in clear.
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self._limiter.hit(self._address, "address", digest)
