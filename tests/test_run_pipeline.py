"""The run flow in-process: stages keep going past another stage's failure."""

from __future__ import annotations

import mailbox
from datetime import datetime
from pathlib import Path

from delivery_helpers import RUN_AT, SECRET_ENV, make_site

from publisher.config import load_config
from publisher.options import RunOptions
from publisher.pipeline import run


def test_the_newsletters_go_out_when_the_feeds_cannot_be_written(tmp_path: Path) -> None:
    config = load_config(make_site(tmp_path, subscribers=2))
    (tmp_path / "public").write_text("a file where the feeds folder should be")
    report = run(config, datetime.fromisoformat(RUN_AT), RunOptions(environ=SECRET_ENV))
    assert not report.ok
    assert report.problems[0].where == "[feeds] output_dir"
    assert report.sent == 2
    assert len(mailbox.Maildir(tmp_path / "outbox", create=False)) == 2


def test_only_the_named_newsletters_and_no_feeds(tmp_path: Path) -> None:
    config = load_config(make_site(tmp_path, subscribers=2))
    now = datetime.fromisoformat(RUN_AT)
    feeds_only = run(config, now, RunOptions(newsletters=(), environ=SECRET_ENV))
    mail_only = run(config, now, RunOptions(feeds=False, newsletters=("news",), environ=SECRET_ENV))
    assert (feeds_only.feeds_written, feeds_only.sent) == (9, 0)
    assert (mail_only.feeds_written, mail_only.sent, len(mail_only.issues)) == (0, 2, 1)
