"""`publisher serve`: the subscriber web app, in the foreground."""

from __future__ import annotations

import os

import click

from publisher.cli import Context, cli, pass_context


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@pass_context
def serve_command(ctx: Context, host: str, port: int) -> None:
    """Run the subscriber pages ([web]) until SIGTERM or Ctrl-C.

    Readers subscribe (double opt-in), confirm, change their preferences and leave one
    newsletter with one click (RFC 8058). Put it behind a TLS proxy (see the README).
    """
    from publisher.web import create_app  # Flask and waitress, for this command only
    from publisher.web.server import serve

    config = ctx.config
    app = create_app(config, os.environ)
    assert config.web is not None  # create_app refuses a config without it
    threads = config.web.threads
    click.echo(f"serving {config.web.base_url} on http://{host}:{port}/", err=True)
    serve(app, config.web.base_url, host, port, threads, config.web.proxy_hops)
    click.echo("stopped", err=True)
