"""`alertd check`: validate rule files and report every error as file:line:col."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.query.check import CHECK_INSTANT, check_rules
from alertd.query.plan import plan


def run(paths: Sequence[Path], out: TextIO, err: TextIO) -> int:
    result = check_rules(paths)
    for error in sorted(
        result.errors, key=lambda e: (e.location.file, e.location.line, e.location.column)
    ):
        print(error, file=err)
    if result.errors:
        print(f"{len(result.errors)} error(s) in {len(result.files)} file(s)", file=err)
        return 1
    ruleset = result.ruleset
    queries = len(plan(ruleset.rules, ruleset.datasets, CHECK_INSTANT).queries)
    print(
        f"ok: {len(ruleset.rules)} rules in {len(ruleset.groups)} groups over "
        f"{len(ruleset.datasets)} datasets, {queries} queries per tick",
        file=out,
    )
    return 0
