"""Checks a `balkort ...` command line against the click command tree: every subcommand and
option it names must exist. Shared by the tests of the runbooks and of the deploy manifests."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence

import click

from services.cli import main

# A command line stops at the shell's operators (`|`, `&&`, `;`, `)` of `$( ... )`, redirections).
SHELL_PUNCTUATION = "();<>|&"


def balkort_commands(line: str) -> Iterator[list[str]]:
    """Every `balkort ...` invocation in one shell line, as argument lists without `balkort`."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    for index, token in enumerate(tokens):
        if " " in token.strip():
            # A quoted script, as in `sh -c '... balkort ...'`.
            yield from balkort_commands(token)
            continue
        if token != "balkort":
            continue
        arguments: list[str] = []
        for argument in tokens[index + 1 :]:
            if all(character in SHELL_PUNCTUATION for character in argument):
                break
            arguments.append(argument)
        yield arguments


def problems_with(arguments: Sequence[str]) -> list[str]:
    """What in `balkort <arguments>` the CLI does not have (empty when it all exists)."""
    command: click.Command = main
    path = ["balkort"]
    remaining = list(arguments)
    problems: list[str] = []
    while remaining:
        token = remaining.pop(0)
        if token.startswith("-") and token != "-":
            name = token.split("=", 1)[0]
            option = _option(command, name)
            if option is None:
                problems.append(f"`{' '.join(path)}` has no option {name}")
            elif not option.is_flag and "=" not in token and not option.count and remaining:
                remaining.pop(0)  # the option's value
            continue
        if isinstance(command, click.Group):
            sub = command.commands.get(token)
            if sub is None:
                problems.append(f"`{' '.join(path)}` has no subcommand {token!r}")
                return problems
            command = sub
            path.append(token)
        # Otherwise a positional argument of a command.
    if isinstance(command, click.Group) and command is not main:
        problems.append(f"`{' '.join(path)}` needs a subcommand")
    return problems


def _option(command: click.Command, name: str) -> click.Option | None:
    if name in {"-h", "--help"}:
        return click.Option(["--help"], is_flag=True)
    for parameter in command.params:
        if isinstance(parameter, click.Option) and name in (*parameter.opts, *parameter.secondary_opts):
            return parameter
    return None
