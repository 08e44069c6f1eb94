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
from alertd.query.blob_numbers import all_numbers, numeric_blob_columns
from alertd.query.rows import compile_row
from alertd.rules.ast import FieldKind, FieldRef, RowExpr

MeasureKind = TypingLiteral["events", "rows", "sum", "min", "max", "quantile"]

SAMPLE_INTERVAL = sql.Col("_sample_interval")
TIMESTAMP = sql.Col("timestamp")
# Stand-ins outside any real value, for rows a conditional min/max must ignore; a measure
# is only read when its raw row count says matching rows exist.
_MIN_NEUTRAL = sql.Num(1e308)
_MAX_NEUTRAL = sql.Num(-1e308)


@dataclass(frozen=True)
class Measure:
    """One aggregate column over the rows of the last `window_seconds` where `cond` holds.

    `events` is the weighted count (events the rows stand for), `rows` the raw row count;
    an `arg` on those two only restricts them to rows where it can be read as a number.
    """

    kind: MeasureKind
    cond: RowExpr | None
    window_seconds: int
    arg: RowExpr | None = None
    level: float | None = None


def compile_measure(measure: Measure, condition: sql.Expr | None) -> sql.Expr:
    """SQL for a measure; `condition` already includes the measure's window bound."""
    if measure.kind != "sum":
        # Rows whose numeric blob is not a number have no value (a sum just adds 0).
        guard = all_numbers(numeric_blob_columns(measure.arg))
        if guard is not None:
            condition = guard if condition is None else sql.Binary("AND", guard, condition)
    indicator = (
        sql.Call("if", (condition, sql.Num(1), sql.Num(0))) if condition is not None else None
    )
    weight: sql.Expr = (
        SAMPLE_INTERVAL if indicator is None else sql.Binary("*", SAMPLE_INTERVAL, indicator)
    )
    if measure.kind == "events":
        return sql.Call("sum", (weight,))
    if measure.kind == "rows":
        return sql.Call("count") if indicator is None else sql.Call("sum", (indicator,))
    assert measure.arg is not None
    value = compile_row(measure.arg)
    if measure.kind == "sum":
        return sql.Call("sum", (sql.Binary("*", weight, value),))
    if measure.kind == "quantile":
        assert measure.level is not None
        return sql.Call("quantileExactWeighted", (value, weight), params=(sql.Num(measure.level),))
    if condition is None:
        return sql.Call(measure.kind, (value,))
    # Both branches of if() must share a type in AE, so the value is made a Float64.
    as_double = value if _is_double(measure.arg) else sql.Binary("*", value, sql.Num(1.0))
    neutral = _MIN_NEUTRAL if measure.kind == "min" else _MAX_NEUTRAL
    return sql.Call(measure.kind, (sql.Call("if", (condition, as_double, neutral)),))


def _is_double(expr: RowExpr) -> bool:
    return isinstance(expr, FieldRef) and expr.kind is FieldKind.NUMBER and not expr.numeric_blob
