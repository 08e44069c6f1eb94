"""The evidence behind a ratio or a quantile: extra measures in the same scan, read back.

With `confidence` set, a rule whose value is one `ratio(...)` or one quantile also asks
for the sums that tell how many raw rows, weighted how, stand behind the value
(engine/significance.py judges them): the squared weights of all rows and of the rows on
the share's side, for the effective sample size, and for a quantile the weight and rows
above each bound the rule compares with. They are plain weighted counts, so they ride in
the statement the rule already sends, and a range backtest adds them up per bucket like
any count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertd.query.aggregates import needed_measures
from alertd.query.blob_numbers import numeric_blob_columns
from alertd.query.measures import Measure
from alertd.rules.ast import BoundAggregate, Compare, Literal, RowExpr, conjoin
from alertd.rules.ruleset import Rule


@dataclass(frozen=True)
class Proportion:
    """A weighted share of rows and the raw rows behind it: `rows` of `of` raw rows are on
    the share's side; `effective` is how many unweighted rows would estimate the share as
    precisely (`effective_size`)."""

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


def weighed_aggregate(rule: Rule) -> BoundAggregate | None:
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
    if weighed_aggregate(rule) != bound:
        return []
    agg = bound.aggregate
    if agg.func == "ratio":
        population = conjoin(bound.where, agg.of)
        matched = conjoin(population, agg.cond)
        return [
            Measure("squares", population, window),
            Measure("squares", matched, window),
            Measure("rows", matched, window),
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
        measures.append(Measure("squares", above, window, arg=readable))
    return measures


def evidence_reads(rule: Rule) -> list[Measure]:
    """The measures `evidence_from` takes the values of, in its order; none when the rule
    weighs no evidence."""
    bound = weighed_aggregate(rule)
    if bound is None:
        return []
    window = int(rule.window.total_seconds())
    return needed_measures(bound, window) + evidence_measures(rule, bound, window)


def evidence_from(rule: Rule, values: Sequence[float]) -> Evidence | None:
    """A series' evidence from the values of `evidence_reads(rule)`, in that order: a
    reader looks the measures up once per tick, not once per series."""
    bound = weighed_aggregate(rule)
    if bound is None:
        return None
    if bound.aggregate.func == "ratio":
        of, weights, matched, squares, squares_matched, rows = values[:6]
        share = matched / weights if weights else 0.0
        effective = effective_size(share, weights, squares, squares_matched)
        return Evidence(None, ratio=Proportion(share, effective, int(rows), int(of)))
    # After the quantile's own two (its row count, its value): weights, squares, then
    # (weight, rows, squares) above each bound.
    extra = values[2:]
    of = int(values[0])
    weights, squares = extra[0], extra[1]
    above: dict[float, Proportion] = {}
    for index, limit in enumerate(bounds(rule)):
        weight_above, rows_above, squares_above = extra[2 + 3 * index :][:3]
        share = weight_above / weights if weights else 0.0
        effective = effective_size(share, weights, squares, squares_above)
        above[limit] = Proportion(share, effective, int(rows_above), of)
    return Evidence(bound.aggregate.level, above=above)


def effective_size(share: float, weights: float, squares: float, squares_on_side: float) -> float:
    """How many unweighted rows would estimate `share` as precisely as these weighted rows.

    The rows weigh `weights` in all, their squared weights sum to `squares`, of which
    `squares_on_side` on the share's side. The share's variance, linearized as for any
    ratio estimator, is `Σ w²(y - share)² / (Σw)²` with y 1 on the share's side and 0 off
    it; a binomial share over n rows has `share(1 - share) / n`. Kish's `(Σw)² / Σw²`
    assumes the weights do not depend on the side a row is on: one heavy sampled row above
    a P95's bound breaks exactly that, and this size falls to a handful, so that row alone
    is no evidence. Where the share is 0 or 1 the variance says nothing and Kish's size
    is used.
    """
    if weights <= 0 or squares <= 0:
        return 0.0
    kish = weights * weights / squares
    spread = squares_on_side * (1 - share) ** 2 + (squares - squares_on_side) * share**2
    if share <= 0 or share >= 1 or spread <= 0:
        return kish
    return share * (1 - share) * weights * weights / spread


def _above(arg: RowExpr | None, limit: float) -> RowExpr:
    assert arg is not None
    return Compare(">", arg, Literal(limit))
