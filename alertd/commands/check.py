"""`alertd check`: validate rule and notification files; every error as file:line:col."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.notify.build import notify_config
from alertd.query.check import CHECK_INSTANT, check_rules
from alertd.query.plan import plan


def run(paths: Sequence[Path], out: TextIO, err: TextIO, *, strict: bool = False) -> int:
    """0 when the files are valid; 1 when not, or with `strict` when a receiver that a
    route names cannot send (its secret unset), which is otherwise a warning."""
    result = check_rules(paths)
    config, notify_errors = notify_config(paths)
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
    queries = sum(
        len(plan(group.rules, ruleset.datasets, CHECK_INSTANT).queries) for group in ruleset.groups
    )
    print(
        f"ok: {len(ruleset.rules)} rules in {len(ruleset.groups)} groups over "
        f"{len(ruleset.datasets)} datasets, {queries} queries per tick",
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
    return 0
