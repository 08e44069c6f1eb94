"""How many AE queries one evaluation tick costs, and how long planning it takes.

For the shipped rules and for copies of them ×10 and ×100 (each copy with its own filter,
so nothing is shared by accident), print the number of rules, queries per tick, SQL bytes,
and the time to plan and compile one tick. Every rule alone would cost one query per
dataset it reads; that is what other alerting daemons send.

    .venv/bin/python bench/queries_per_tick.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from alertd.query.plan import plan
from alertd.rules.ast import (
    BoundAggregate,
    Compare,
    FieldKind,
    FieldRef,
    Literal,
    ValueArith,
    ValueExpr,
    ValueNeg,
    conjoin,
)
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule

RULES = Path(__file__).resolve().parents[1] / "rules"
AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def copies(rules: tuple[Rule, ...], factor: int) -> list[Rule]:
    """`factor` copies of every rule, copy i filtering out a user id of its own."""
    if factor == 1:
        return list(rules)
    out = []
    for i in range(factor):
        for rule in rules:
            out.append(
                dataclasses.replace(rule, name=f"{rule.name}_{i}", value=_filtered(rule.value, i))
            )
    return out


def _filtered(value: ValueExpr, copy: int) -> ValueExpr:
    # userId is the last blob of every dataset; the column differs per dataset.
    columns = {"pitchey_database_metrics": "blob6", "pitchey_performance_metrics": "blob5"}

    def rebind(bound: BoundAggregate) -> BoundAggregate:
        column = columns.get(bound.dataset, "blob6")
        extra = Compare(
            "!=", FieldRef("userId", column, FieldKind.STRING), Literal(f"bench-{copy}")
        )
        return BoundAggregate(bound.dataset, conjoin(bound.where, extra), bound.aggregate)

    return _map(value, rebind)


def _map(value: ValueExpr, fn: Callable[[BoundAggregate], BoundAggregate]) -> ValueExpr:
    if isinstance(value, BoundAggregate):
        return fn(value)
    if isinstance(value, ValueArith):
        return ValueArith(value.op, _map(value.left, fn), _map(value.right, fn))
    if isinstance(value, ValueNeg):
        return ValueNeg(_map(value.operand, fn))
    return value


def main() -> int:
    loaded = load([RULES])
    if loaded.errors:
        print("\n".join(map(str, loaded.errors)), file=sys.stderr)
        return 1
    ruleset = loaded.ruleset
    header = ("rules", "queries/tick", "naive", "SQL bytes", "max stmt", "plan ms")
    print("{:>6} {:>12} {:>6} {:>10} {:>9} {:>9}".format(*header))
    for factor in (1, 10, 100):
        rules = copies(ruleset.rules, factor)
        planned = plan(rules, ruleset.datasets, AT)
        sizes = [len(q.query.sql.encode()) for q in planned.queries]
        naive = sum(len(r.datasets) for r in rules)
        repeats = 5 if factor < 100 else 3
        times = timeit.repeat(
            functools.partial(plan, rules, ruleset.datasets, AT), number=1, repeat=repeats
        )
        print(
            f"{len(rules):>6} {len(planned.queries):>12} {naive:>6} {sum(sizes):>10} "
            f"{max(sizes):>9} {statistics.median(times) * 1000:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
