"""`publisher check` and `publisher index`: see every problem, and the posts as indexed."""

from __future__ import annotations

import json
import os
from datetime import datetime

import click

from publisher.checks import check_site
from publisher.cli import Context, cli, now_option, pass_context, report_problems, resolve_now
from publisher.content.files import escaped
from publisher.content.index import index_site
from publisher.errors import PublisherError
from publisher.options import RunOptions


@cli.command("index")
@click.option("--drafts", is_flag=True, help="Include posts under _drafts/.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the posts as a JSON array, one object per post."
)
@now_option
@pass_context
def index_command(ctx: Context, drafts: bool, as_json: bool, now: datetime | None) -> None:
    """List the posts newest first: date, its source, categories, URL and file."""
    config = ctx.config
    # A listing records nothing: `--now` in the future must not become a post's first sight.
    result = index_site(config, resolve_now(now), RunOptions(drafts=drafts, dry_run=True))
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
                f"{p.url}  {escaped(p.source)}"
            )
    report_problems(result.problems)
    if any(not p.warning for p in result.problems):
        raise click.exceptions.Exit(1)


@cli.command("check")
@now_option
@pass_context
def check_command(ctx: Context, now: datetime | None) -> None:
    """Check config, every post, the email templates and secrets; exit 1 on any problem."""
    config, problems = ctx.config_and_problems()
    report = check_site(config, resolve_now(now), os.environ)
    report_problems([*problems, *report.problems])
    errors = [*problems, *report.errors]
    if errors:
        count = len(errors)
        raise PublisherError(
            f"{count} problem{'s' if count != 1 else ''} found: fix them and run "
            "'publisher check' again"
        )
    click.echo(f"ok: {report.posts} posts, templates and settings checked")
