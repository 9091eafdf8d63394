"""`publisher digest` (preview what would go out now) and `publisher baseline`."""

from __future__ import annotations

from datetime import datetime
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
from publisher.content import index_site
from publisher.newsletters.message import preview_html
from publisher.newsletters.plan import baseline
from publisher.newsletters.send import preview
from publisher.newsletters.subscribers import sync_config_subscribers
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
    """Show what newsletter ID (default: every one) would send now; sends and records nothing."""
    config, moment = ctx.config, resolve_now(now)
    if newsletter_id is not None:
        config.newsletter(newsletter_id)  # an unknown id is an error naming the known ones
    result = index_site(config, moment, dry_run=True)
    report_problems(result.problems)
    previews = preview(config, result.posts, moment, newsletter_id)
    if not previews:
        click.echo(f"nothing to send at {moment.isoformat()}: not due, or nothing new")
        return
    for shown in previews:
        rendered, subs = shown.rendered, shown.audience
        issue = rendered.issue
        click.echo(
            f"{issue.id}: {rendered.subject!r}: {len(rendered.post_ids)} posts"
            + (f" and {rendered.more} more" if rendered.more else "")
            + f", {rendered.html_bytes / 1000:.1f} KB of HTML ({rendered.level}),"
            f" to {len(subs)} subscribers"
        )
        if preview_file is None or dry_run:
            continue
        target = (
            preview_file
            if len(previews) == 1
            else preview_file.with_name(
                f"{preview_file.stem}-{issue.newsletter_id}{preview_file.suffix}"
            )
        )
        email = subs[0].display_email if subs else "subscriber@example.com"
        write_output(target, preview_html(config, rendered, email).encode("utf-8"))
        click.echo(f"  wrote {target}")


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
