"""`publisher subscribers ...` and `publisher unsubscribe LINK`: the people on the list."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
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
from publisher.config import Config
from publisher.errors import PublisherError
from publisher.newsletters.choices import unsubscribe
from publisher.newsletters.subscriber_csv import export_csv, import_csv
from publisher.newsletters.subscribers import (
    add_subscriber,
    check_address,
    list_subscribers,
    remove_subscriber,
    sync_config_subscribers,
)
from publisher.newsletters.tokens import load_secret, token_from, verify_token
from publisher.store import Store
from publisher.store.subscribers import STATUSES, Subscriber


@contextmanager
def _store(config: Config, now: datetime) -> Iterator[Store]:
    """The state file, with the config's own [[subscribers]] added if new."""
    with Store.open(config.store.path) as store:
        sync_config_subscribers(config, store, now)
        yield store


@cli.group("subscribers")
def subscribers_group() -> None:
    """Add, remove, list, import and export newsletter subscribers."""


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default="", help="The subscriber's name, for the To: line.")
@click.option(
    "--newsletter",
    "newsletters",
    multiple=True,
    metavar="ID",
    help="Subscribe to this newsletter (repeatable; default: every newsletter).",
)
@click.option(
    "--resubscribe", is_flag=True, help="Subscribe again someone who left (only if they asked)."
)
@click.option(
    "--pending",
    is_flag=True,
    help="Send them the confirmation email instead: subscribed once they confirm ([web]).",
)
@now_option
@pass_context
def add_command(
    ctx: Context,
    email: str,
    name: str,
    newsletters: tuple[str, ...],
    resubscribe: bool,
    pending: bool,
    now: datetime | None,
) -> None:
    """Subscribe EMAIL (the same address in another case is the same person)."""
    config, moment = ctx.config, resolve_now(now)
    if pending:
        _add_pending(config, email, name, newsletters, moment)
        return
    with _store(config, moment) as store:
        sub = add_subscriber(
            config,
            store,
            email,
            moment,
            name=name,
            newsletters=newsletters,
            resubscribe=resubscribe,
        )
    click.echo(f"{sub.display_email}: subscribed to {', '.join(sub.newsletters)}")


def _add_pending(
    config: Config, email: str, name: str, newsletters: tuple[str, ...], now: datetime
) -> None:
    """Record EMAIL as pending and send the confirmation email (or leave it to the run)."""
    from publisher.newsletters.confirm import request, send_now

    if config.web is None:
        raise PublisherError(
            "--pending needs [web] in the config: the confirmation email links to the web "
            "app's confirm page (see config.example.toml)"
        )
    secret = load_secret(config.email.secret_env, os.environ)
    try:
        address = check_address(email)
    except ValueError as e:
        raise PublisherError(f"{e}: check the spelling") from e
    ids = tuple(dict.fromkeys(newsletters)) or tuple(n.id for n in config.newsletters)
    for newsletter_id in ids:
        config.newsletter(newsletter_id)  # an unknown id is an error naming the known ones
    with _store(config, now) as store:
        asked = request(config, store, address, name.strip(), ids, now, resend_after=timedelta(0))
    if not asked.send_confirmation:
        state = asked.subscriber.status if asked.subscriber else "unknown"
        click.echo(f"{address.display}: nothing to confirm ({state}); no email sent")
        return
    report = send_now(config, secret, now)
    if report is None:
        click.echo(f"{address.display}: pending; a run is sending, it sends the confirmation")
        return
    report_problems(report.problems)
    if report.sent:
        click.echo(f"{address.display}: pending until confirmed; confirmation email sent")
    else:
        click.echo(f"{address.display}: pending; the confirmation email waits for the next run")


@subscribers_group.command("remove")
@click.argument("email")
@now_option
@pass_context
def remove_command(ctx: Context, email: str, now: datetime | None) -> None:
    """Stop sending to EMAIL; the record stays so an import cannot add them back."""
    config, moment = ctx.config, resolve_now(now)
    with _store(config, moment) as store:
        sub = remove_subscriber(store, email, moment)
    click.echo(f"{sub.display_email}: {sub.status}")


@subscribers_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only these.")
@now_option
@pass_context
def list_command(ctx: Context, status: str | None, now: datetime | None) -> None:
    """List subscribers: address, status, each newsletter's state (active, pending,
    unsubscribed, bounced, removed), name."""
    config = ctx.config
    with _store(config, resolve_now(now)) as store:
        subs = list_subscribers(store, status)  # type: ignore[arg-type]  # click checked it
    ids = [n.id for n in config.newsletters]
    for sub in subs:
        click.echo(f"{sub.display_email}\t{sub.status}\t{_states(sub, ids)}\t{sub.name}".rstrip())
    if ctx.verbose:
        click.echo(f"{len(subs)} subscribers", err=True)


def _states(sub: Subscriber, newsletter_ids: list[str]) -> str:
    """'breaking=active daily=unsubscribed': where they stand with each newsletter."""
    states = [f"{n}={sub.state(n)}" for n in newsletter_ids if sub.state(n)]
    return " ".join(states) or "-"


@subscribers_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@now_option
@pass_context
def import_command(ctx: Context, file: Path, now: datetime | None) -> None:
    """Import FILE.csv (email, name, newsletters[, status]); bad rows are listed by line.

    The file may be UTF-8, UTF-16 or Korean Excel's CP949 (EUC-KR); -v says which it was.
    """
    config, moment = ctx.config, resolve_now(now)
    with _store(config, moment) as store:
        report = import_csv(config, store, file, moment)
    if ctx.verbose:
        click.echo(f"{file}: read as {report.encoding}", err=True)
    report_problems(report.problems)
    skipped = len(report.problems)
    click.echo(f"{report.added} added, {report.updated} updated, {skipped} rows not imported")
    if any(not p.warning for p in report.problems):
        raise click.exceptions.Exit(1)


@subscribers_group.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file instead of standard output.",
)
@now_option
@pass_context
def export_command(ctx: Context, output: Path | None, now: datetime | None) -> None:
    """Write every subscriber (with status) as CSV that 'subscribers import' reads back."""
    config = ctx.config
    with _store(config, resolve_now(now)) as store:
        text = export_csv(store)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text.encode("utf-8"))


@cli.command("unsubscribe")
@click.argument("link")
@now_option
@pass_context
def unsubscribe_command(ctx: Context, link: str, now: datetime | None) -> None:
    """Unsubscribe the holder of LINK from its newsletter, after checking its signature.

    LINK is an email's unsubscribe link, its token alone, the mailto link, or the subject
    the mailto sets ('unsubscribe TOKEN').
    """
    config, moment = ctx.config, resolve_now(now)
    secret = load_secret(config.email.secret_env, os.environ)
    claims = verify_token(secret, token_from(link), moment)
    with Store.open(config.store.path) as store:
        outcome = unsubscribe(store, claims, moment)
    sub, newsletter_id = outcome.subscriber, claims.newsletter_id
    still = [n.id for n in config.newsletters if sub.receives(n.id)]
    if not outcome.changed:
        click.echo(f"{sub.display_email}: not subscribed to {newsletter_id} (nothing to do)")
        return
    click.echo(
        f"{sub.display_email}: unsubscribed from {newsletter_id}"
        + (f" (still receives {', '.join(still)})" if still else "")
    )
