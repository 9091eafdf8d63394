"""`publisher subscribers ...` and `publisher unsubscribe TOKEN`: the people on the list."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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
from publisher.config import Config
from publisher.newsletters.subscribers import (
    add_subscriber,
    export_csv,
    import_csv,
    list_subscribers,
    remove_subscriber,
    sync_config_subscribers,
    unsubscribe,
)
from publisher.newsletters.tokens import load_secret, verify_token
from publisher.store import Store
from publisher.store.subscribers import STATUSES


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
@now_option
@pass_context
def add_command(
    ctx: Context,
    email: str,
    name: str,
    newsletters: tuple[str, ...],
    resubscribe: bool,
    now: datetime | None,
) -> None:
    """Subscribe EMAIL (the same address in another case is the same person)."""
    config, moment = ctx.config, resolve_now(now)
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
    """List subscribers: address, status, newsletters, name."""
    config = ctx.config
    with _store(config, resolve_now(now)) as store:
        subs = list_subscribers(store, status)  # type: ignore[arg-type]  # click checked it
    for sub in subs:
        click.echo(
            f"{sub.display_email}\t{sub.status}\t{','.join(sub.newsletters)}\t{sub.name}".rstrip()
        )
    if ctx.verbose:
        click.echo(f"{len(subs)} subscribers", err=True)


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
@click.argument("token")
@now_option
@pass_context
def unsubscribe_command(ctx: Context, token: str, now: datetime | None) -> None:
    """Unsubscribe the holder of TOKEN (from an email's unsubscribe link), after checking it."""
    config, moment = ctx.config, resolve_now(now)
    claims = verify_token(load_secret(config.email.secret_env, os.environ), token, moment)
    with Store.open(config.store.path) as store:
        sub = unsubscribe(store, claims, moment)
    click.echo(f"{sub.display_email}: {sub.status}")
