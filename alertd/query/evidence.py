"""The evidence behind a ratio or a quantile: extra measures in the same scan, read back.

With `confidence` set, a rule whose value is one `ratio(...)` or one quantile also asks
for the sums that tell how many raw rows, weighted how, stand behind the value
(engine/significance.py judges them): the squared weights, for the effective sample size,
and for a quantile the weight and rows above each bound the rule compares with. They are
plain weighted counts, so they ride in the statement the rule already sends, and a range
backtest adds them up per bucket like any count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alertd.query.aggregates import needed_measures
from alertd.query.blob_numbers import numeric_blob_columns
from alertd.query.measures import Measure
from alertd.rules.ast import BoundAggregate, Compare, Literal, RowExpr, conjoin
from alertd.rules.ruleset import Rule


@dataclass(frozen=True)
class Proportion:
    """A weighted share of rows and the raw rows behind it: `rows` of `of` raw rows are on
    the share's side; `effective` is `(Σw)² / Σw²` over the `of` rows."""

    share: float
    effective: float
    rows: int
    of: int


@dataclass(frozen=True)
class Evidence:
    """What a series' sampled rows say: a ratio's proportion, or for a quantile at `level`
    the share of weight above each of the rule's bounds."""

    level: float | None
    ratio: Proportion | None = None
    above: Mapping[float, Proportion] | None = None


def tested(rule: Rule) -> BoundAggregate | None:
    """The aggregate whose evidence a rule weighs, or None when it weighs none."""
    value = rule.value
    if rule.confidence is None or not isinstance(value, BoundAggregate):
        return None
    return value if value.aggregate.func in ("ratio", "quantile") else None


def bounds(rule: Rule) -> tuple[float, ...]:
    """Every bound the rule compares its value with: thresholds, then `recover`."""
    found = [t.bound for t in rule.thresholds.values()]
    if rule.recover is not None:
        found.append(rule.recover.bound)
    return tuple(sorted(set(found)))


def rule_measures(rule: Rule, bound: BoundAggregate, window: int) -> list[Measure]:
    """The measures one aggregate of a rule needs: its value's, and its evidence's."""
    return needed_measures(bound, window) + evidence_measures(rule, bound, window)


def evidence_measures(rule: Rule, bound: BoundAggregate, window: int) -> list[Measure]:
    if tested(rule) != bound:
        return []
    agg = bound.aggregate
    if agg.func == "ratio":
        population = conjoin(bound.where, agg.of)
        return [
            Measure("squares", population, window),
            Measure("rows", conjoin(population, agg.cond), window),
        ]
    cond = conjoin(bound.where, agg.cond)
    readable = agg.arg if numeric_blob_columns(agg.arg) else None
    measures = [
        Measure("events", cond, window, arg=readable),
        Measure("squares", cond, window, arg=readable),
    ]
    for limit in bounds(rule):
        above = conjoin(cond, _above(agg.arg, limit))
        measures.append(Measure("events", above, window, arg=readable))
        measures.append(Measure("rows", above, window, arg=readable))
    return measures


def read_evidence(rule: Rule, read: Callable[[Measure], float]) -> Evidence | None:
    """A series' evidence from its measures' values; None when the rule weighs none."""
    bound = tested(rule)
    if bound is None:
        return None
    window = int(rule.window.total_seconds())
    base = needed_measures(bound, window)
    extra = evidence_measures(rule, bound, window)
    if bound.aggregate.func == "ratio":
        of, weights, matched = (read(m) for m in base)
        share = matched / weights if weights else 0.0
        effective = effective_size(weights, read(extra[0]))
        return Evidence(None, ratio=Proportion(share, effective, int(read(extra[1])), int(of)))
    of = int(read(base[0]))
    weights = read(extra[0])
    effective = effective_size(weights, read(extra[1]))
    above: dict[float, Proportion] = {}
    for index, limit in enumerate(bounds(rule)):
        weight_above = read(extra[2 + 2 * index])
        rows_above = int(read(extra[3 + 2 * index]))
        share = weight_above / weights if weights else 0.0
        above[limit] = Proportion(share, effective, rows_above, of)
    return Evidence(bound.aggregate.level, above=above)


def effective_size(weights: float, squares: float) -> float:
    """Kish's effective sample size of rows whose weights sum to `weights` and whose
    squared weights sum to `squares`: the raw row count when all weigh the same, fewer
    when a few heavy rows dominate."""
    return weights * weights / squares if squares > 0 else 0.0


def _above(arg: RowExpr | None, limit: float) -> RowExpr:
    assert arg is not None
    return Compare(">", arg, Literal(limit))
