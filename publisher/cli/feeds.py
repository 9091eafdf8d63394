"""`publisher build`: index the posts and write the feeds, then ping the WebSub hub."""

from __future__ import annotations

from datetime import datetime

import click

from publisher.cli import Context, cli, now_option, pass_context, report_problems, resolve_now
from publisher.content import index_site
from publisher.feeds import build_feeds
from publisher.websub import notify_hub


@cli.command("build")
@click.option("--dry-run", is_flag=True, help="Say which files would change; write nothing.")
@now_option
@pass_context
def build_command(ctx: Context, dry_run: bool, now: datetime | None) -> None:
    """Write the Atom, RSS and JSON feeds (site-wide and per category) and the discovery tags."""
    config = ctx.config
    result = index_site(config, resolve_now(now), dry_run=dry_run)
    report = build_feeds(config, result.posts, dry_run=dry_run)
    problems = result.problems + report.problems
    if config.feeds.websub_hub and report.changed_urls and not dry_run:
        timeout = config.feeds.websub_timeout.total_seconds()
        problems += notify_hub(config.feeds.websub_hub, report.changed_urls, timeout)
    report_problems(problems)
    if ctx.verbose or dry_run:
        verb = "would write" if dry_run else "wrote"
        click.echo(
            f"{report.feeds} feeds, {len(result.posts)} posts: {verb} {len(report.written)} "
            f"files, {len(report.unchanged)} unchanged",
            err=True,
        )
        if dry_run:
            for path in report.written:
                click.echo(f"  {path}", err=True)
    if any(not p.warning for p in problems):
        raise click.exceptions.Exit(1)
