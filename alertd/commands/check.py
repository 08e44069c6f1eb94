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
    paths: Sequence[Path],
    out: TextIO,
    err: TextIO,
    *,
    cost: bool = False,
    json: bool = False,
    strict: bool = False,
) -> int:
    """Validate: 0 when the files are valid; 1 when not, or with `strict` when a receiver
    that a route names cannot send (its secret unset), which is otherwise a warning. With
    `cost`, also print the AE read queries the rules send (as one JSON object alone on
    stdout with `json`)."""
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
        return 1 if strict and config.unavailable else 0
    print(
        f"ok: {len(ruleset.rules)} rules in {len(ruleset.groups)} groups over "
        f"{len(ruleset.datasets) - len(ruleset.sources)} datasets"
        + (f" and {len(ruleset.sources)} other sources" if ruleset.sources else "")
        + f", {costs.statements} queries per tick",
        file=out,
    )
    receivers = ", ".join(sorted(config.receivers)) or "none"
    print(f"receivers: {receivers}", file=out)
    routed = {u.name for u in config.unavailable}
    for skipped in config.skipped:
        if skipped.name not in routed:
            print(f"skipped: {skipped.name}: {skipped.reason}", file=out)
    level = "error" if strict else "warning"
    for unavailable in config.unavailable:
        print(f"{unavailable.location}: {level}: {unavailable}", file=err)
    if strict and config.unavailable:
        print(f"{len(config.unavailable)} receiver(s) cannot send (--strict)", file=err)
        return 1
    if cost:
        cost_report.print_table(costs, out)
        cost_report.print_sources(costs, out)
    return 0
