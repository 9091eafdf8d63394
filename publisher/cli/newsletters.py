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
from publisher.delivery.mailing import due_issues
from publisher.digest import render_issue
from publisher.messages import preview_html
from publisher.newsletters import baseline
from publisher.store import Store, scratch_copy
from publisher.subscribers import active_subscribers, sync_config_subscribers


@cli.command("digest")
@click.argument("newsletter_id", metavar="[ID]", required=False)
@click.option(
    "--preview",
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
    preview: Path | None,
    dry_run: bool,
    now: datetime | None,
) -> None:
    """Show what newsletter ID (default: every one) would send now; sends and records nothing."""
    config, moment = ctx.config, resolve_now(now)
    if newsletter_id is not None:
        config.newsletter(newsletter_id)  # an unknown id is an error naming the known ones
    result = index_site(config, moment, dry_run=True)
    report_problems(result.problems)
    with scratch_copy(config.store.path) as store:  # as a run would see it; nothing is kept
        only = None if newsletter_id is None else (newsletter_id,)
        issues = due_issues(config, store, result.posts, moment, only)
        audience = {i.id: active_subscribers(store, i.newsletter_id) for i in issues}
    if not issues:
        click.echo(f"nothing to send at {moment.isoformat()}: not due, or nothing new")
        return
    for issue in issues:
        rendered = render_issue(config, issue, result.posts)
        subs = audience[issue.id]
        click.echo(
            f"{issue.id}: {rendered.subject!r}: {len(rendered.post_ids)} posts"
            + (f" and {rendered.more} more" if rendered.more else "")
            + f", {rendered.html_bytes / 1000:.1f} KB of HTML ({rendered.level}),"
            f" to {len(subs)} subscribers"
        )
        if preview is None or dry_run:
            continue
        target = (
            preview
            if len(issues) == 1
            else preview.with_name(f"{preview.stem}-{issue.newsletter_id}{preview.suffix}")
        )
        email = subs[0].display_email if subs else "subscriber@example.com"
        write_output(target, preview_html(rendered, email).encode("utf-8"))
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
