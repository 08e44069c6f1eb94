"""`alertd check`: validate rule files and report every error as file:line:col."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.errors import Location, RuleError, UnsafeLiteralError
from alertd.query.plan import PlanError, plan
from alertd.rules.loader import LoadResult, load

# Any fixed instant works: checking compiles a tick only to prove the SQL can be built.
_CHECK_INSTANT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def check_rules(paths: Sequence[Path]) -> LoadResult:
    """Load the rules and also compile one tick of each, so SQL problems show up here."""
    result = load(paths)
    for rule in result.ruleset.rules:
        try:
            plan([rule], result.ruleset.datasets, _CHECK_INSTANT)
        except (PlanError, UnsafeLiteralError) as exc:
            result.errors.append(RuleError(rule.location, f"{rule.name}: {exc}"))
    if not result.files:
        result.errors.append(
            RuleError(Location(str(paths[0]) if paths else "."), "no rule files found")
        )
    return result


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
    queries = len(plan(ruleset.rules, ruleset.datasets, _CHECK_INSTANT).queries)
    print(
        f"ok: {len(ruleset.rules)} rules in {len(ruleset.groups)} groups over "
        f"{len(ruleset.datasets)} datasets, {queries} queries per tick",
        file=out,
    )
    return 0
