"""`publisher build`: index the posts and write the feeds, then ping the WebSub hub."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from publisher import pipeline
from publisher.cli import Context, cli, now_option, pass_context, report_problems, resolve_now
from publisher.cli.progress import ProgressBar
from publisher.lock import lock_path
from publisher.options import RunOptions
from publisher.stopping import graceful_stop


@cli.command("build")
@click.option("--dry-run", is_flag=True, help="Say which files would change; write nothing.")
@now_option
@pass_context
def build_command(ctx: Context, dry_run: bool, now: datetime | None) -> None:
    """Write the Atom, RSS and JSON feeds (site-wide and per category) and the discovery tags."""
    config = ctx.config
    # A run without newsletters: under the same lock, so a build never races a cron run.
    bar = ProgressBar(sys.stderr.isatty())
    with graceful_stop() as stop:
        try:
            options = RunOptions(dry_run=dry_run, newsletters=(), stop=stop.is_set, progress=bar)
            run = pipeline.run(config, resolve_now(now), options)
        finally:
            bar.close()
    if run.locked_out:
        held = lock_path(config.store.path)
        click.echo(f"another publisher run holds {held}: nothing done", err=True)
        raise click.exceptions.Exit(1)
    if run.stopped:
        if ctx.verbose:
            click.echo(run.summary(), err=True)
        return
    report_problems(run.problems)
    report = run.feed_report
    if report is not None and (ctx.verbose or dry_run):
        verb = "would write" if dry_run else "wrote"
        click.echo(
            f"{report.feeds} feeds, {run.posts} posts: {verb} {len(report.written)} "
            f"files, {len(report.unchanged)} unchanged",
            err=True,
        )
        if dry_run:
            for path in report.written:
                click.echo(f"  {path}", err=True)
    if not run.ok:
        raise click.exceptions.Exit(1)
