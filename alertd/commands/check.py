"""`alertd check`: validate rule and notification files; every error as file:line:col."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.commands import cost_report
from alertd.notify.build import notify_config_of
from alertd.query.check import check_rules
from alertd.query.cost import cost_of


def run(
    paths: Sequence[Path], out: TextIO, err: TextIO, *, cost: bool = False, json: bool = False
) -> int:
    """Validate; with `cost`, also print the AE read queries the rules send (as one JSON
    object alone on stdout with `json`)."""
    result = check_rules(paths)
    # The notification file as the rules loader parsed it, not read a second time.
    config, notify_errors = notify_config_of(result.foreign)
    errors = [*result.errors, *notify_errors]
    for error in sorted(
        errors, key=lambda e: (e.location.file, e.location.line, e.location.column)
    ):
        print(error, file=err)
    if errors or config is None:
        print(f"{len(errors)} error(s) in {len(result.files)} file(s)", file=err)
        return 1
    ruleset = result.ruleset
    # The daemon plans each group on its own, so a tick costs the sum over groups.
    costs = cost_of(ruleset)
    if cost and json:
        cost_report.print_json(costs, out)
        return 0
    print(
        f"ok: {len(ruleset.rules)} rules in {len(ruleset.groups)} groups over "
        f"{len(ruleset.datasets)} datasets, {costs.statements} queries per tick",
        file=out,
    )
    receivers = ", ".join(sorted(config.receivers)) or "none"
    print(f"receivers: {receivers}", file=out)
    for skipped in config.skipped:
        print(f"skipped: {skipped.name}: {skipped.reason}", file=out)
    if cost:
        cost_report.print_table(costs, out)
    return 0
