"""The outbox: one `.eml` file per message in a Maildir, so a reader never sees half of one.

Messages come in batches: each is written under `tmp/`, all are synced, then renamed into
`new/`, and `new/` is synced once for the batch; only then are their rows recorded sent.
The file name is fixed by (issue, subscriber), so writing a message again after a crash
replaces the same file instead of adding a second copy (unless a reader took it already).
Any Maildir reader (`mailbox.Maildir`, mutt, a script piping to sendmail) can take the
messages from there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
    """A Maildir folder that takes messages in batches."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)
        try:
            for sub in ("tmp", "new", "cur"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DeliveryError(
                f"{folder}: cannot create the outbox ({e}): check [delivery] outbox_dir"
            ) from e

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Put the messages in `new/`: each written under `tmp/`, all synced (eight at a
        time: one disk commit carries many), renamed, and `new/` synced once. Returns once
        they are all there for good."""
        written: list[tuple[int, Path]] = []
        try:
            for message in messages:
                tmp = self.folder / "tmp" / message_filename(message)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
                written.append((fd, tmp))
                view = memoryview(message.data)
                while view:
                    view = view[os.write(fd, view) :]
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(os.fsync, [fd for fd, _ in written]))
            for _, tmp in written:
                os.replace(tmp, self.folder / "new" / tmp.name)
            fsync_dir(self.folder / "new")
        except OSError as e:
            for _, tmp in written:
                tmp.unlink(missing_ok=True)
            raise DeliveryError(
                f"{self.folder}: cannot write a message to the outbox ({e}): check "
                "[delivery] outbox_dir and free disk space"
            ) from e
        finally:
            for fd, _ in written:
                os.close(fd)

    def close(self) -> None:
        """Nothing to let go: each batch is complete when `send_batch` returns."""
