"""`publisher check` and `publisher index`: see every problem, and the posts as indexed."""

from __future__ import annotations

import json
from datetime import datetime

import click

from publisher.cli import Context, cli, now_option, pass_context, report_problems, resolve_now
from publisher.content import index_site
from publisher.errors import PublisherError


@cli.command("index")
@click.option("--drafts", is_flag=True, help="Include posts under _drafts/.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per post.")
@now_option
@pass_context
def index_command(ctx: Context, drafts: bool, as_json: bool, now: datetime | None) -> None:
    """List the posts newest first: date, its source, categories, URL and file."""
    config = ctx.config
    result = index_site(config, resolve_now(now), drafts=drafts)
    tz = config.site.tz
    if as_json:
        rows = [
            {
                "date": p.date.astimezone(tz).isoformat(),
                "date_source": p.date_source,
                "updated": p.updated.astimezone(tz).isoformat(),
                "title": p.title,
                "categories": list(p.categories),
                "tags": list(p.tags),
                "url": p.url,
                "id": p.id,
                "source": p.source,
            }
            for p in result.posts
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for p in result.posts:
            cats = ",".join(p.categories) or "-"
            click.echo(
                f"{p.date.astimezone(tz).isoformat()}  {p.date_source:<12}  {cats:<16}  "
                f"{p.url}  {p.source}"
            )
    report_problems(result.problems)
    if any(not p.warning for p in result.problems):
        raise click.exceptions.Exit(1)


@cli.command("check")
@now_option
@pass_context
def check_command(ctx: Context, now: datetime | None) -> None:
    """Check config and every post; list every problem and exit 1 if there is any."""
    try:
        config = ctx.config
    except PublisherError as e:
        click.echo(f"Error: {e}", err=True)
        raise click.exceptions.Exit(1) from e
    result = index_site(config, resolve_now(now), drafts=True, dry_run=True)
    report_problems(result.problems)
    errors = [p for p in result.problems if not p.warning]
    if errors:
        raise click.exceptions.Exit(1)
    click.echo(f"ok: {len(result.posts)} posts, no problems")
