"""The `publisher` command: parse arguments, load config, call one library function.

This package is the only place that imports click, reads the clock or configures
logging. A `PublisherError` becomes `Error: ...` on stderr and exit status 1; usage
errors exit 2. Each command group lives in its own module and is registered below.
"""

from __future__ import annotations

import importlib
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from publisher import __version__
from publisher.atomic import write_atomic
from publisher.config import Config, find_config, load_config, read_config
from publisher.errors import Problem, PublisherError
from publisher.inputs import Observation

# Each command, and the module of this package that defines it: imported when the command
# runs (or --help lists it), so a cron run loads neither Jinja2 nor APScheduler for nothing.
_COMMANDS = {
    "baseline": "newsletters",
    "build": "feeds",
    "check": "content",
    "digest": "newsletters",
    "index": "content",
    "run": "run",
    "schedule": "run",
    "send-test": "newsletters",
    "serve": "web",
    "status": "run",
    "subscribers": "subscribers",
    "unsubscribe": "subscribers",
}


class _Group(click.Group):
    """The top group: commands loaded on use, PublisherError as a one-line error and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"publisher.cli.{module}")  # its decorators add it here
        command = super().get_command(ctx, cmd_name)
        if command is not None and not any(p.name == "verbose" for p in command.params):
            _accept_verbose_after_the_command(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PublisherError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(1)


class Context:
    """What every command gets: the config path given (if any), verbosity, and helpers.

    `observed`: what the quiet check (`publisher.main`) saw of a plain run's inputs before
    it decided the run had work to do, handed over so the run does not look again.
    """

    def __init__(
        self, config_path: Path | None, verbose: int, observed: Observation | None = None
    ) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.observed = observed
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        """The config, loaded and checked on first use."""
        if self._config is None:
            self._config = load_config(find_config(self.config_path, Path.cwd()))
        return self._config

    def config_and_problems(self) -> tuple[Config, list[Problem]]:
        """For `check`: the config whose keys are each valid, and the settings in it that
        cannot work together (see `publisher.config.read_config`)."""
        return read_config(find_config(self.config_path, Path.cwd()))


pass_context = click.make_pass_decorator(Context)


def now_option(f: Any) -> Any:
    """Add `--now ISO8601`, to replay a moment; the command receives an aware `now`."""
    return click.option(
        "--now",
        "now",
        type=click.DateTime(
            formats=[
                "%Y-%m-%dT%H:%M:%S%z",
                "%Y-%m-%dT%H:%M%z",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S%z",
            ]
        ),
        default=None,
        help="Act as if it were this moment (ISO 8601; naive means UTC).",
    )(f)


def resolve_now(now: datetime | None) -> datetime:
    """The moment a command acts at: `--now` if given (naive means UTC), else the clock."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def write_output(path: Path, data: bytes) -> None:
    """Write a file a command was asked for (atomically); a path that cannot take it is an
    error naming it, not a traceback."""
    try:
        write_atomic(path, data)
    except OSError as e:
        raise PublisherError(
            f"{path}: cannot write the file ({e.strerror or e}): choose a writable path"
        ) from e


def report_problems(problems: tuple[Problem, ...] | list[Problem]) -> None:
    """Print problems on stderr, one a line, warnings marked."""
    for p in problems:
        click.echo(("warning: " if p.warning else "") + str(p), err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file (default: publisher.toml in the current folder).",
)
@click.option(
    "-v", "--verbose", count=True, help="Print a summary line (-vv: each stage, -vvv: debug)."
)
@click.version_option(__version__, prog_name="publisher")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Publish feeds and breaking-news emails from a folder of Jekyll-style posts."""
    _configure_logging(verbose)
    observed = ctx.obj if isinstance(ctx.obj, Observation) else None  # from `main`
    ctx.obj = Context(config_path, verbose, observed)


def _configure_logging(verbose: int) -> None:
    # -v is the one summary line a command prints itself; -vv shows each stage, -vvv debug.
    level = logging.WARNING if verbose <= 1 else logging.INFO if verbose == 2 else logging.DEBUG
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)


def _more_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    """`publisher run -v` means what `publisher -v run` does."""
    obj = ctx.find_object(Context)
    if value and obj is not None:
        obj.verbose += value
        _configure_logging(obj.verbose)


def _accept_verbose_after_the_command(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_verbose_after_the_command(sub)
    command.params.append(
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_more_verbose,
            help="Print a summary line (-vv: each stage, -vvv: debug).",
        )
    )


def main(observed: Observation | None = None) -> None:
    """The command line (after `publisher.main`'s quiet check, which hands over what it
    `observed`)."""
    cli(prog_name="publisher", obj=observed)
