"""Measures: the aggregate columns a query returns, and the SQL each one compiles to.

Every measure is sampling-correct: an AE row stands for `_sample_interval` events, so counts
and sums are weighted by it and quantiles use it as the weight
(reference: cloudflare-analytics-engine.md §4). Filters become weights of 0 or 1, which is
what lets rules with different filters and windows share one scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

from alertd.query import sql
from alertd.query.blob_numbers import numeric_blob_columns
from alertd.rules.ast import FieldKind, FieldRef, RowExpr

MeasureKind = TypingLiteral["events", "rows", "squares", "sum", "min", "max", "quantile"]
# Kinds that count rows and read no argument value.
COUNTING: tuple[MeasureKind, ...] = ("events", "rows", "squares")

SAMPLE_INTERVAL = sql.Col("_sample_interval")
TIMESTAMP = sql.Col("timestamp")
# Stand-ins outside any real value, for rows a conditional min/max must ignore; a measure
# is only read when its raw row count says matching rows exist.
_MIN_NEUTRAL = sql.Num(1e308)
_MAX_NEUTRAL = sql.Num(-1e308)


@dataclass(frozen=True)
class Measure:
    """One aggregate column over the rows of the last `window_seconds` where `cond` holds.

    `events` is the weighted count (events the rows stand for), `rows` the raw row count,
    `squares` the sum of squared weights (for the effective sample size); an `arg` on
    those three only restricts them to rows where it can be read as a number.
    """

    kind: MeasureKind
    cond: RowExpr | None
    window_seconds: int
    arg: RowExpr | None = None
    level: float | None = None
    # A range statement's window at a fixed instant (epoch second it ends), not at the tick.
    ending: int | None = None


def compile_measure(
    measure: Measure, factors: tuple[sql.Expr, ...], value: sql.Expr | None
) -> sql.Expr:
    """SQL for a measure over rows that carry `factors`, each 0 or 1 (the measure's window,
    filters and number checks: a row counts when all are 1), and its argument's `value`."""
    indicator: sql.Expr | None = None
    for factor in factors:
        indicator = factor if indicator is None else sql.Binary("*", indicator, factor)
    weight: sql.Expr = (
        SAMPLE_INTERVAL if indicator is None else sql.Binary("*", SAMPLE_INTERVAL, indicator)
    )
    if measure.kind == "events":
        return sql.Call("sum", (weight,))
    if measure.kind == "squares":
        return sql.Call("sum", (sql.Binary("*", weight, SAMPLE_INTERVAL),))
    if measure.kind == "rows":
        return sql.Call("count") if indicator is None else sql.Call("sum", (indicator,))
    assert measure.arg is not None
    assert value is not None
    if measure.kind == "sum":
        return sql.Call("sum", (sql.Binary("*", weight, value),))
    if measure.kind == "quantile":
        assert measure.level is not None
        return sql.Call("quantileExactWeighted", (value, weight), params=(sql.Num(measure.level),))
    if indicator is None:
        return sql.Call(measure.kind, (value,))
    # Both branches of if() must share a type in AE, so the value is made a Float64.
    as_double = value if _is_double(measure.arg) else sql.Binary("*", value, sql.Num(1.0))
    neutral = _MIN_NEUTRAL if measure.kind == "min" else _MAX_NEUTRAL
    counted = sql.Binary("=", indicator, sql.Num(1))
    return sql.Call(measure.kind, (sql.Call("if", (counted, as_double, neutral)),))


def needs_numbers(measure: Measure) -> tuple[str, ...]:
    """The numeric blobs that must hold numbers for a row to count in `measure`: a row
    whose blob is not a number has no value (a sum just adds 0)."""
    return () if measure.kind == "sum" else numeric_blob_columns(measure.arg)


def _is_double(expr: RowExpr) -> bool:
    return isinstance(expr, FieldRef) and expr.kind is FieldKind.NUMBER and not expr.numeric_blob
