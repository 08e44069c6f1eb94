"""`alertd check`: validate rule and notification files; every error as file:line:col."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.notify.build import notify_config_of
from alertd.query.check import CHECK_INSTANT, check_rules
from alertd.query.plan import plan


def run(paths: Sequence[Path], out: TextIO, err: TextIO) -> int:
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
    for skipped in config.skipped:
        print(f"skipped: {skipped.name}: {skipped.reason}", file=out)
    return 0
