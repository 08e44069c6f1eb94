"""Load rules and prove every one compiles: what `alertd check` and the daemon trust."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from alertd.errors import Location, RuleError, UnsafeLiteralError
from alertd.query.plan import PlanError, plan
from alertd.rules.loader import LoadResult, load

# Any fixed instant works: checking compiles a tick only to prove the SQL can be built.
CHECK_INSTANT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def check_rules(paths: Sequence[Path]) -> LoadResult:
    """Load the rules and compile one tick of each, so SQL problems show up here too.

    A rule that cannot compile is reported and left out of the returned rule set.
    """
    result = load(paths)
    broken: set[str] = set()
    for rule in result.ruleset.rules:
        try:
            plan([rule], result.ruleset.datasets, CHECK_INSTANT)
        except (PlanError, UnsafeLiteralError) as exc:
            result.errors.append(RuleError(rule.location, f"{rule.name}: {exc}"))
            broken.add(rule.name)
    for group in result.ruleset.groups:
        rules = [r for r in group.rules if r.name not in broken]
        try:
            # The daemon plans a group at once; shared filters can make that longer.
            plan(rules, result.ruleset.datasets, CHECK_INSTANT)
        except PlanError as exc:
            result.errors.append(RuleError(group.location, f"group {group.name}: {exc}"))
            broken.update(r.name for r in rules)
    if broken:
        result.ruleset = result.ruleset.without(broken)
    if not result.files:
        location = Location(str(paths[0]) if paths else ".")
        result.errors.append(RuleError(location, "no rule files found"))
    return result
