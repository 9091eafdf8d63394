"""The README's commands, the CLI's help and CI stay in step."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from publisher.cli import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    """Every command path: 'run', 'subscribers add', ..."""
    found = []
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            found.extend(f"{name} {sub}" for sub in sorted(command.commands))
        found.append(name)
    return found


def _readme_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README, re.DOTALL)


def test_readme_opens_with_the_run_and_the_test_commands() -> None:
    run, test = _readme_blocks()[:2]
    assert "pip install" in run and "-c config.example.toml run" in run
    assert "pip install -e '.[test]'" in test and test.endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test = _readme_blocks()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == test


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = CliRunner().invoke(cli, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    top = command.split()[0]
    assert f"`publisher {top}" in README, f"README.md does not mention 'publisher {top}'"
