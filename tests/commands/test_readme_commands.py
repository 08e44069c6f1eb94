"""The README's command table is one table, with a row for every command, and the rows of
the commands people script (`run`, `backtest`, `query`) name every option they take."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from alertd.cli import _parser

README = Path(__file__).parents[2] / "README.md"


def command_table() -> list[str]:
    """The lines from the Commands table's header to the first line that is not a row."""
    lines = README.read_text().split("## Commands", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| command |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_a_row_in_one_unbroken_table() -> None:
    rows = command_table()
    for name in subcommands():
        assert any(row.startswith(f"| `alertd {name}") for row in rows), name


@pytest.mark.parametrize("name", ["run", "backtest", "query"])
def test_the_row_names_every_option(name: str) -> None:
    (row,) = [r for r in command_table() if r.startswith(f"| `alertd {name} ")]
    options = {
        flag
        for action in subcommands()[name]._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag != "--help"
    }
    assert {flag for flag in options if flag not in row} == set()
