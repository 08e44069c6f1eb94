"""How many AE statements one evaluation tick costs, and how long planning it takes.

For the shipped rules and for copies of them ×10 and ×100 (each copy with its own filter,
so nothing is shared by accident), print the number of rules, (dataset, grouping) pairs,
statements per tick, what one query per rule and dataset would cost (what other alerting
daemons send), SQL bytes, the byte floor (one statement per pair, were there no size
limit), the largest statement, the time to plan rules never seen before, and the time a
later tick takes, which only fills in the time bounds.

    .venv/bin/python bench/queries_per_tick.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import statistics
import sys
import timeit
from collections.abc import Callable, Iterator
from pathlib import Path

from alertd.query.plan import plan, plan_template
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
from alertd.rules.ruleset import Rule, RuleSet

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
    header = (
        "rules", "pairs", "statements", "naive", "SQL bytes", "byte floor", "max stmt",
        "first plan ms", "tick ms",
    )  # fmt: skip
    print("{:>6} {:>6} {:>10} {:>6} {:>10} {:>10} {:>9} {:>13} {:>8}".format(*header))
    for factor in (1, 10, 100):
        rules = copies(ruleset.rules, factor)
        planned = plan(rules, ruleset.datasets, AT)
        sizes = [len(q.query.sql.encode()) for q in planned.queries]
        pairs = {(d, tuple(sorted(r.by))) for r in rules for d in r.datasets}
        naive = sum(len(r.datasets) for r in rules)
        repeats = 5 if factor < 100 else 3
        # A first plan sees rules it has never planned; later ticks plan the same rules.
        first = timeit.repeat(
            functools.partial(_first_plan, rules, ruleset), number=1, repeat=repeats
        )
        ticks = itertools.count(1)
        tick = timeit.repeat(
            functools.partial(_tick, rules, ruleset, ticks), number=1, repeat=repeats * 4
        )
        print(
            f"{len(rules):>6} {len(pairs):>6} {len(planned.queries):>10} {naive:>6} "
            f"{sum(sizes):>10} {_floor(rules, ruleset):>10} {max(sizes):>9} "
            f"{statistics.median(first) * 1000:>13.2f} {statistics.median(tick) * 1000:>8.2f}"
        )
    return 0


def _first_plan(rules: list[Rule], ruleset: RuleSet) -> None:
    plan([dataclasses.replace(r) for r in rules], ruleset.datasets, AT)


def _tick(rules: list[Rule], ruleset: RuleSet, ticks: Iterator[int]) -> None:
    plan(rules, ruleset.datasets, AT + dt.timedelta(seconds=30 * next(ticks)))


def _floor(rules: list[Rule], ruleset: RuleSet) -> int:
    """The bytes of one statement per (dataset, grouping), were there no size limit."""
    unlimited = plan_template(rules, ruleset.datasets, max_sql_bytes=sys.maxsize)
    return sum(len(q.query.sql.encode()) for q in unlimited.fill(AT).queries)


if __name__ == "__main__":
    sys.exit(main())
