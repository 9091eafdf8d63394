"""`publisher digest` (preview the next issue), `publisher send-test` and `publisher baseline`."""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from pathlib import Path

import click

from publisher.cli import (
    Context,
    cli,
    now_option,
    pass_context,
    report_problems,
    resolve_now,
    write_output,
)
from publisher.content.index import index_site
from publisher.newsletters.message import preview_html
from publisher.newsletters.plan import baseline
from publisher.newsletters.send import Preview, preview, preview_next
from publisher.newsletters.subscribers import sync_config_subscribers
from publisher.options import RunOptions
from publisher.store import Store


@cli.command("digest")
@click.argument("newsletter_id", metavar="[ID]", required=False)
@click.option(
    "--preview",
    "preview_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="FILE.html",
    help="Write the HTML that would go out, for a browser (FILE-ID.html for several).",
)
@click.option("--dry-run", is_flag=True, help="Render and report only; write no file.")
@now_option
@pass_context
def digest_command(
    ctx: Context,
    newsletter_id: str | None,
    preview_file: Path | None,
    dry_run: bool,
    now: datetime | None,
) -> None:
    """Show the next issue of newsletter ID (default: every one); sends and records nothing.

    Without --now: each newsletter's next issue as it stands, due or not (posts dated later
    included). With --now: only what would go out at that moment.
    """
    config, moment = ctx.config, resolve_now(now)
    tz = config.site.tz
    if newsletter_id is not None:
        config.newsletter(newsletter_id)  # an unknown id is an error naming the known ones
    result = index_site(config, moment, RunOptions(dry_run=True))
    report_problems(result.problems)
    if now is None:
        previews = preview_next(config, result.posts + result.future, moment, newsletter_id)
    else:
        previews = preview(config, result.posts, moment, newsletter_id)
    if not previews:
        click.echo(
            f"nothing to send at {site_time(moment, tz)}: "
            + ("nothing new" if now is None else "not due, or nothing new")
        )
        return
    for shown in previews:
        click.echo(_describe(shown, tz))
        if preview_file is None or dry_run:
            continue
        rendered, subs = shown.rendered, shown.audience
        target = (
            preview_file
            if len(previews) == 1
            else preview_file.with_name(
                f"{preview_file.stem}-{rendered.issue.newsletter_id}{preview_file.suffix}"
            )
        )
        email = subs[0].display_email if subs else "subscriber@example.com"
        write_output(target, preview_html(config, rendered, email).encode("utf-8"))
        click.echo(f"  wrote {target}")


def site_time(moment: datetime, tz: tzinfo) -> str:
    """A moment as messages show it: in the site's time zone, to the second."""
    return moment.astimezone(tz).replace(microsecond=0).isoformat(sep=" ")


def _describe(shown: Preview, tz: tzinfo) -> str:
    rendered, subs = shown.rendered, shown.audience
    issue = rendered.issue
    when = site_time(issue.created, tz)
    return (
        f"{issue.id}: {'due now' if shown.due else 'next issue at ' + when}: "
        f"{rendered.subject!r}: {len(rendered.post_ids)} posts"
        + (f" and {rendered.more} more" if rendered.more else "")
        + f", {rendered.html_bytes / 1000:.1f} KB of HTML ({rendered.level}),"
        f" to {len(subs)} subscribers"
    )


@cli.command("send-test")
@click.argument("newsletter_id", metavar="[ID]", required=False)
@click.option(
    "--to", "to", required=True, metavar="ADDRESS", help="Where to send the test message."
)
@click.option(
    "--post",
    "post_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Show this post (a file under [content] dir) instead of the next issue.",
)
@now_option
@pass_context
def send_test_command(
    ctx: Context,
    newsletter_id: str | None,
    to: str,
    post_file: Path | None,
    now: datetime | None,
) -> None:
    """Send one real message of newsletter ID (default: the first) to ADDRESS.

    It shows the newsletter's next issue (due or not), or the post given with --post, and
    goes through the configured delivery exactly as the readers' copies do; nothing is
    recorded and no post counts as announced.
    """
    from publisher.newsletters.sendtest import send_test

    config, moment = ctx.config, resolve_now(now)
    source = None if post_file is None else _post_source(config.content.dir, post_file)
    result = index_site(config, moment, RunOptions(drafts=source is not None, dry_run=True))
    report_problems(result.problems)
    sent = send_test(
        config,
        result.posts + result.future,
        moment,
        to,
        newsletter_id=newsletter_id,
        post_source=source,
        environ=os.environ,
    )
    report_problems(sent.problems)
    rendered = sent.rendered
    click.echo(
        f"sent {rendered.subject!r} ({sent.chosen}: {len(rendered.post_ids)} posts"
        + (f" and {rendered.more} more" if rendered.more else "")
        + f") to {sent.recipient} by {config.delivery.method}, as {sent.message_id}"
    )


def _post_source(content_dir: Path, given: Path) -> str:
    """A post file as the index names it: relative to the content folder, POSIX form."""
    for candidate in (given, content_dir / given):
        try:
            return candidate.resolve().relative_to(content_dir.resolve()).as_posix()
        except ValueError:
            continue
    return given.as_posix()


@cli.command("baseline")
@now_option
@pass_context
def baseline_command(ctx: Context, now: datetime | None) -> None:
    """Mark every current post as announced by every newsletter, sending nothing."""
    config, moment = ctx.config, resolve_now(now)
    result = index_site(config, moment)
    report_problems(result.problems)
    with Store.open(config.store.path) as store:
        sync_config_subscribers(config, store, moment)
        added = baseline(config, store, result.posts, moment)
    click.echo(
        f"{len(result.posts)} posts marked announced by {len(config.newsletters)} newsletters "
        f"({added} new marks); nothing was sent"
    )
