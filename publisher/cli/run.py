"""`publisher run` (one cron run), `publisher schedule` (no cron needed), `publisher status`."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Any

import click

from publisher import pipeline
from publisher.cli import Context, cli, now_option, pass_context, report_problems, resolve_now
from publisher.cli.progress import ProgressBar
from publisher.lock import lock_path
from publisher.options import RunOptions
from publisher.pipeline import RunReport
from publisher.stopping import graceful_stop
from publisher.store import Store, journal
from publisher.store.problems import Recorded, recorded_problems


def _tell(ctx: Context, report: RunReport, *, quiet_if_idle: bool = False) -> None:
    """Print what a run did: nothing without -v (only the problems no earlier run printed:
    cron mails each one once), else one line."""
    if report.locked_out:
        if ctx.verbose:
            held = lock_path(ctx.config.store.path)
            click.echo(f"another publisher run holds {held}: nothing done", err=True)
        return
    if report.dry_run or (ctx.verbose and (report.eventful or not quiet_if_idle)):
        click.echo(report.summary())
    report_problems(report.fresh_problems)


def _finish(ctx: Context, report: RunReport) -> None:
    """Print what a run did (as quiet as it can be) and exit 1 if anything went wrong."""
    _tell(ctx, report)
    if not report.ok:
        raise click.exceptions.Exit(1)


@cli.command("run")
@now_option
@click.option(
    "--dry-run", is_flag=True, help="Render and report everything; write, record and send nothing."
)
@pass_context
def run_command(ctx: Context, now: datetime | None, dry_run: bool) -> None:
    """Index posts, build feeds, send due newsletters: one run, for cron.

    Prints nothing when nothing happened; -v prints a summary line. A problem is printed
    by the first run that finds it (again once it changes); the exit status is 1 while
    any remains ('publisher check' and 'status' list them all). Another run holding the
    lock makes this one exit at once with status 0.
    """
    config = ctx.config
    bar = ProgressBar(sys.stderr.isatty())
    with graceful_stop() as stop:
        try:
            options = RunOptions(dry_run=dry_run, stop=stop.is_set, progress=bar)
            report = pipeline.run(config, resolve_now(now), options)
        finally:
            bar.close()
    _finish(ctx, report)


@cli.command("schedule")
@pass_context
def schedule_command(ctx: Context) -> None:
    """Stay in the foreground and run on schedule (for hosts without cron).

    The whole run every [schedule] interval, each newsletter at its own `schedule`.
    SIGTERM or Ctrl-C finish the message in flight, then exit.
    """
    from publisher.schedule import serve  # APScheduler, loaded only for this command

    config = ctx.config
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def on_report(report: RunReport) -> None:
        _tell(ctx, report, quiet_if_idle=True)

    with graceful_stop() as stop:
        serve(config, stop, on_report=on_report)


@cli.command("status")
@click.option(
    "--limit",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Issues to show per newsletter.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_context
def status_command(ctx: Context, limit: int, as_json: bool) -> None:
    """Show each newsletter's last issues (messages sent, pending, failed, bounced) and
    every problem the last run found."""
    config = ctx.config
    found: dict[str, tuple[journal.IssueCounts, ...]] = {n.id: () for n in config.newsletters}
    readers: dict[str, dict[str, int]] = {}
    from publisher.newsletters.subscribers import newsletter_counts  # this command only

    problems: list[Recorded] = []
    if config.store.path.exists():
        with Store.open(config.store.path) as store:
            for n in config.newsletters:
                found[n.id] = journal.last_issues(store, n.id, limit)
            readers = newsletter_counts(store, [n.id for n in config.newsletters])
            problems = recorded_problems(store)
    if as_json:
        click.echo(json.dumps({k: [_as_dict(c) for c in v] for k, v in found.items()}, indent=2))
        return
    if not config.newsletters:
        click.echo("no newsletters in the config")
    for n in config.newsletters:
        click.echo(f"{n.id} ({n.name}, schedule '{n.schedule}')")
        if n.id in readers:
            counted = readers[n.id]
            click.echo("  subscribers: " + ", ".join(f"{k} {v}" for k, v in counted.items()))
        if not found[n.id]:
            click.echo("  no issues yet")
        for c in found[n.id]:
            when = c.issue.created.astimezone(config.site.tz).strftime("%Y-%m-%d %H:%M")
            posts = len(c.issue.post_ids) + len(c.issue.more_ids)
            click.echo(
                f"  {when}  {c.issue.id}  {posts} posts  sent {c.sent}  pending {c.pending}  "
                f"failed {c.failed}  bounced {c.bounced}"
                + (f"  cancelled {c.cancelled}" if c.cancelled else "")
            )
    if problems:
        click.echo(f"problems found by the last run ({len(problems)}):")
        for p in problems:
            since = p.reported.astimezone(config.site.tz).strftime("%Y-%m-%d %H:%M")
            click.echo(f"  {'warning: ' if p.warning else ''}{p.text}  (since {since})")


def _as_dict(c: journal.IssueCounts) -> dict[str, Any]:
    return {
        "issue": c.issue.id,
        "created": c.issue.created.isoformat(),
        "posts": list(c.issue.post_ids),
        "more": len(c.issue.more_ids),
        "sent": c.sent,
        "pending": c.pending,
        "failed": c.failed,
        "bounced": c.bounced,
        "cancelled": c.cancelled,
    }
