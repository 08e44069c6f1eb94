"""Read query answers back into one value per (rule, series)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from alertd.model import Labels, Rows
from alertd.query.aggregates import read_aggregate
from alertd.query.evidence import Evidence, read_evidence, weighed_aggregate
from alertd.query.measures import Measure
from alertd.query.plan import BatchKey, Plan, PlannedQuery, batch_key
from alertd.rules.ast import (
    BoundAggregate,
    Number,
    ValueArith,
    ValueExpr,
    ValueNeg,
    bound_aggregates,
)
from alertd.rules.ruleset import Rule

_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


@dataclass(frozen=True)
class SeriesValue:
    """A rule's value for one series; None when it cannot be computed from the data."""

    value: float | None
    samples: int
    # The rows behind the value, for a rule with `confidence` (query/evidence.py).
    evidence: Evidence | None = None


@dataclass
class RuleResult:
    """One rule's answer at a tick: a value per series, or the reason it has none."""

    rule: Rule
    series: dict[Labels, SeriesValue] = field(default_factory=dict)
    error: str | None = None


def read(plan: Plan, answers: Mapping[PlannedQuery, Rows | Exception]) -> dict[str, RuleResult]:
    """Combine the answers of a plan's queries into one RuleResult per rule.

    A rule any of whose queries failed gets the error and no series, so a failure can
    never look like an all-clear.
    """
    tables: dict[BatchKey, dict[Labels, dict[Measure, float]]] = {}
    failures: dict[BatchKey, str] = {}
    for planned in plan.queries:
        answer = answers.get(planned)
        if answer is None or isinstance(answer, Exception):
            failures.setdefault(planned.key, str(answer) if answer else "query not run")
            continue
        table = tables.setdefault(planned.key, {})
        for row in answer.data:
            labels = tuple(
                sorted((name, str(row[alias])) for alias, name in planned.labels.items())
            )
            cells = table.setdefault(labels, {})
            for measure, alias in planned.measures.items():
                cells[measure] = float(row[alias])  # type: ignore[arg-type]
    results: dict[str, RuleResult] = {}
    for rule in plan.rules:
        keys = [batch_key(rule, b.dataset) for b in rule.aggregates]
        failed = [failures[k] for k in keys if k in failures]
        if failed:
            results[rule.name] = RuleResult(rule, error=failed[0])
            continue
        results[rule.name] = RuleResult(rule, _series(rule, [tables.get(k, {}) for k in keys]))
    return results


def _series(
    rule: Rule, tables: Iterable[dict[Labels, dict[Measure, float]]]
) -> dict[Labels, SeriesValue]:
    tables = list(tables)
    by_aggregate = dict(zip(rule.aggregates, tables, strict=True))
    labels: dict[Labels, None] = {}
    for table in tables:
        labels.update(dict.fromkeys(table))
    window = int(rule.window.total_seconds())
    series: dict[Labels, SeriesValue] = {}
    for label_set in labels:
        value = _series_value(rule, by_aggregate, label_set, window)
        # A group whose every aggregate matched no row is no series at all: rules that
        # share a query would otherwise make empty groups appear and disappear.
        if value is not None:
            series[label_set] = value
    return series


def _series_value(
    rule: Rule,
    by_aggregate: Mapping[BoundAggregate, dict[Labels, dict[Measure, float]]],
    labels: Labels,
    window: int,
) -> SeriesValue | None:
    counted: dict[BoundAggregate, int] = {}

    def aggregate(bound: BoundAggregate) -> float | None:
        # A series absent from one dataset's answer had no matching rows there.
        cells = by_aggregate[bound].get(labels, {})
        result = read_aggregate(bound, window, lambda m: cells.get(m, 0.0))
        counted[bound] = result.samples
        return result.value

    value = evaluate(rule.value, aggregate)
    if not any(counted.values()):
        return None
    weighed = weighed_aggregate(rule)
    evidence = None
    if weighed is not None:
        cells = by_aggregate[weighed].get(labels, {})
        evidence = read_evidence(rule, lambda m: cells.get(m, 0.0))
    return SeriesValue(value, _samples(rule.value, counted), evidence)


def _samples(expr: ValueExpr, counted: Mapping[BoundAggregate, int]) -> int:
    """The raw rows a value rests on: those of its denominators, when it divides.

    In `errors / requests`, few error rows are a fine answer but few request rows are not,
    so the smallest denominator decides; a value without division takes its largest count.
    """
    below = [counted[b] for b in denominators(expr) if b in counted]
    return min(below) if below else max(counted.values(), default=0)


def denominators(expr: ValueExpr) -> list[BoundAggregate]:
    """The aggregates a value divides by."""
    if isinstance(expr, ValueArith):
        found = denominators(expr.left) + denominators(expr.right)
        if expr.op in "/%":
            found += bound_aggregates(expr.right)
        return found
    if isinstance(expr, ValueNeg):
        return denominators(expr.operand)
    return []


def evaluate(expr: ValueExpr, aggregate: Callable[[BoundAggregate], float | None]) -> float | None:
    """Compute a value expression; unknown operands and division by zero give None."""
    if isinstance(expr, BoundAggregate):
        value = aggregate(expr)
        # AE has no NULL; a NaN or infinity from the data is no value, not a verdict.
        return value if value is None or math.isfinite(value) else None
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, ValueNeg):
        inner = evaluate(expr.operand, aggregate)
        return None if inner is None else -inner
    if isinstance(expr, ValueArith):
        left, right = evaluate(expr.left, aggregate), evaluate(expr.right, aggregate)
        if left is None or right is None or (expr.op in "/%" and right == 0):
            return None
        result = _ARITH[expr.op](left, right)
        return result if math.isfinite(result) else None
    raise TypeError(f"unbound value node {expr!r}")
