"""The outbox: one `.eml` file per message in a Maildir, so a reader never sees half of one.

Each message is written under `tmp/`, synced, then renamed into `new/`. The file name is
fixed by (issue, subscriber), so writing a message again after a crash replaces the same
file instead of adding a second copy. Any Maildir reader (`mailbox.Maildir`, mutt, a
script piping to sendmail) can take the messages from there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.atomic import fsync_dir
from publisher.errors import DeliveryError

if TYPE_CHECKING:
    from publisher.delivery import OutgoingMessage

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def message_filename(message: OutgoingMessage) -> str:
    """The file name of a message in the outbox: its issue and subscriber, nothing else."""
    return f"{_UNSAFE.sub('_', message.issue_id)}.{message.subscriber_id}.eml"


class Outbox:
    """A Maildir folder that accepts messages one at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            for sub in ("tmp", "new", "cur"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DeliveryError(
                f"{folder}: cannot create the outbox ({e}): check [delivery] outbox_dir"
            ) from e
        self._written = False

    def send(self, message: OutgoingMessage) -> None:
        """Put the message in `new/`: written and synced under `tmp/`, then renamed."""
        name = message_filename(message)
        tmp = self.folder / "tmp" / name
        try:
            with open(tmp, "wb") as f:
                f.write(message.data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.folder / "new" / name)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise DeliveryError(
                f"{self.folder}: cannot write a message to the outbox ({e}): check "
                "[delivery] outbox_dir and free disk space"
            ) from e
        self._written = True

    def close(self) -> None:
        """Make the renames durable (once for the batch, not per message)."""
        if self._written:
            fsync_dir(self.folder / "new")
            self._written = False
