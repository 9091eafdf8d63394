"""`publisher run` (one cron run), `publisher schedule` (no cron needed), `publisher status`."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from typing import Any

import click

from publisher import inputs, pipeline
from publisher.cli import Context, cli, now_option, pass_context, report_problems, resolve_now
from publisher.cli.progress import ProgressBar
from publisher.inputs import Observation
from publisher.lock import lock_path
from publisher.options import RunOptions
from publisher.pipeline import RunReport
from publisher.stopping import graceful_stop
from publisher.store import Store, holds, issues
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
    # A plain run observes its inputs before it reads them: kept with what it leaves, they
    # let the next cron minutes with nothing to do end at once (publisher.main).
    observed = _observed(ctx) if now is None and not dry_run else None
    config = ctx.config
    bar = ProgressBar(sys.stderr.isatty())
    with graceful_stop() as stop:
        try:
            options = RunOptions(dry_run=dry_run, stop=stop.is_set, progress=bar)
            report = pipeline.run(config, resolve_now(now), options, observed)
        finally:
            bar.close()
    _finish(ctx, report)


def _observed(ctx: Context) -> Observation | None:
    """What the quiet check saw of the inputs (handed over), else a look at them now; None
    when they cannot be looked at (the run reports why)."""
    given = None if ctx.config_path is None else str(ctx.config_path)
    path = inputs.config_file(given, os.getcwd())
    if path is None:
        return None
    if ctx.observed is not None and ctx.observed.config == os.path.realpath(path):
        return ctx.observed
    try:
        return inputs.observe(inputs.read_settings(path), os.urandom(16))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


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
@now_option
@pass_context
def status_command(ctx: Context, limit: int, as_json: bool, now: datetime | None) -> None:
    """Show each newsletter's readers, last issues and last server problem, and every
    problem the last run found.

    Per issue: messages sent, pending (due now), deferred (and the next attempt), unknown
    (may have arrived: no answer came), failed, bounced (hard and soft), cancelled.
    """
    config = ctx.config
    moment = resolve_now(now)
    found: dict[str, tuple[issues.IssueCounts, ...]] = {n.id: () for n in config.newsletters}
    last_problems: dict[str, holds.DeliveryProblem | None] = dict.fromkeys(found)
    readers: dict[str, dict[str, int]] = {}
    from publisher.newsletters.subscribers import newsletter_counts  # this command only

    problems: list[Recorded] = []
    if config.store.path.exists():
        with Store.open(config.store.path) as store:
            for n in config.newsletters:
                found[n.id] = issues.last_issues(store, n.id, moment, limit)
                last_problems[n.id] = holds.last_problem(store, n.id)
            readers = newsletter_counts(store, [n.id for n in config.newsletters])
            problems = recorded_problems(store)
    if as_json:
        click.echo(
            json.dumps(
                {
                    k: {
                        "issues": [_as_dict(c) for c in v],
                        "last_problem": _problem_dict(last_problems[k]),
                    }
                    for k, v in found.items()
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not config.newsletters:
        click.echo("no newsletters in the config")
    tz = config.site.tz

    def when(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    for n in config.newsletters:
        click.echo(f"{n.id} ({n.name}, schedule '{n.schedule}')")
        if n.id in readers:
            counted = readers[n.id]
            click.echo("  subscribers: " + ", ".join(f"{k} {v}" for k, v in counted.items()))
        if not found[n.id]:
            click.echo("  no issues yet")
        for c in found[n.id]:
            posts = len(c.issue.post_ids) + len(c.issue.more_ids)
            deferred = f"deferred {c.deferred}"
            if c.next_attempt is not None:
                deferred += f" (next {when(c.next_attempt)})"
            line = [
                f"  {when(c.issue.created)}  {c.issue.id}  {posts} posts",
                f"sent {c.sent}",
                f"pending {c.pending}",
                deferred,
                f"unknown {c.unknown}",
                f"failed {c.failed}",
                f"bounced {c.bounced} (hard {c.hard_bounced}, soft {c.soft_bounced})",
            ]
            if c.sending:
                line.append(f"sending {c.sending}")
            if c.cancelled:
                line.append(f"cancelled {c.cancelled}")
            click.echo("  ".join(line))
        problem = last_problems[n.id]
        if problem is not None:
            held = ""
            if problem.until is not None and problem.until > moment:
                held = f" (sending resumes at {when(problem.until)})"
            click.echo(f"  last server problem {when(problem.at)}{held}: {problem.problem}")
    if problems:
        click.echo(f"problems found by the last run ({len(problems)}):")
        for p in problems:
            click.echo(f"  {'warning: ' if p.warning else ''}{p.text}  (since {when(p.reported)})")


def _as_dict(c: issues.IssueCounts) -> dict[str, Any]:
    return {
        "issue": c.issue.id,
        "created": c.issue.created.isoformat(),
        "posts": list(c.issue.post_ids),
        "more": len(c.issue.more_ids),
        "sent": c.sent,
        "pending": c.pending,
        "deferred": c.deferred,
        "next_attempt": c.next_attempt.isoformat() if c.next_attempt else None,
        "sending": c.sending,
        "unknown": c.unknown,
        "failed": c.failed,
        "bounced": c.bounced,
        "bounced_hard": c.hard_bounced,
        "bounced_soft": c.soft_bounced,
        "cancelled": c.cancelled,
    }


def _problem_dict(problem: holds.DeliveryProblem | None) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {
        "at": problem.at.isoformat(),
        "problem": problem.problem,
        "until": problem.until.isoformat() if problem.until else None,
    }
