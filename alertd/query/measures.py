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
from alertd.rules.ast import (
    BoolOp,
    Compare,
    FieldKind,
    FieldRef,
    InList,
    Literal,
    Not,
    RowArith,
    RowExpr,
    RowNeg,
)

MeasureKind = TypingLiteral["events", "rows", "sum", "min", "max", "quantile"]

SAMPLE_INTERVAL = sql.Col("_sample_interval")
TIMESTAMP = sql.Col("timestamp")
_COMPARE_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# Stand-ins outside any real value, for rows a conditional min/max must ignore; a measure
# is only read when its raw row count says matching rows exist.
_MIN_NEUTRAL = sql.Num(1e308)
_MAX_NEUTRAL = sql.Num(-1e308)


@dataclass(frozen=True)
class Measure:
    """One aggregate column over the rows of the last `window_seconds` where `cond` holds.

    `events` is the weighted count (events the rows stand for), `rows` the raw row count.
    """

    kind: MeasureKind
    cond: RowExpr | None
    window_seconds: int
    arg: RowExpr | None = None
    level: float | None = None


def compile_row(expr: RowExpr) -> sql.Expr:
    """SQL for a row expression over AE's positional columns."""
    if isinstance(expr, FieldRef):
        column = sql.Col(expr.column)
        # A numeric blob holds digits as text; AE documents toUInt32 for the conversion.
        return sql.Call("toUInt32", (column,)) if expr.numeric_blob else column
    if isinstance(expr, Literal):
        if isinstance(expr.value, bool):
            return sql.Bool(expr.value)
        return sql.Str(expr.value) if isinstance(expr.value, str) else sql.Num(expr.value)
    if isinstance(expr, RowArith):
        return sql.Binary(expr.op, compile_row(expr.left), compile_row(expr.right))
    if isinstance(expr, RowNeg):
        return sql.Unary("-", compile_row(expr.operand))
    if isinstance(expr, Compare):
        if expr.op in ("==", "!=") and (text := _as_text_match(expr.left, expr.right)):
            column, literal = text
            return sql.Binary(_COMPARE_OPS[expr.op], column, literal)
        return sql.Binary(_COMPARE_OPS[expr.op], compile_row(expr.left), compile_row(expr.right))
    if isinstance(expr, InList):
        member = expr.operand
        if isinstance(member, FieldRef) and member.numeric_blob and all(map(_whole, expr.values)):
            texts = tuple(sql.Str(str(int(v.value))) for v in expr.values)
            return sql.In(sql.Col(member.column), texts, expr.negated)
        values = tuple(compile_row(v) for v in expr.values)
        return sql.In(compile_row(expr.operand), values, expr.negated)
    if isinstance(expr, BoolOp):
        op = "AND" if expr.op == "and" else "OR"
        compiled = [compile_row(o) for o in expr.operands]
        result = compiled[0]
        for operand in compiled[1:]:
            result = sql.Binary(op, result, operand)
        return result
    if isinstance(expr, Not):
        return sql.Unary("NOT", compile_row(expr.operand))
    raise TypeError(f"unexpected row expression {expr!r}")


def _whole(literal: Literal) -> bool:
    value = literal.value
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and float(value).is_integer()
        and value >= 0
    )


def _as_text_match(left: RowExpr, right: RowExpr) -> tuple[sql.Col, sql.Str] | None:
    """`statusCode == 503` on a numeric blob as the text match `blob3 = '503'`.

    Equality needs no conversion, and toUInt32 fails the whole AE query on one row whose
    blob is not a number; only ordered comparisons pay that risk.
    """
    for field, other in ((left, right), (right, left)):
        if (
            isinstance(field, FieldRef)
            and field.numeric_blob
            and isinstance(other, Literal)
            and _whole(other)
        ):
            return sql.Col(field.column), sql.Str(str(int(other.value)))
    return None


def compile_measure(measure: Measure, condition: sql.Expr | None) -> sql.Expr:
    """SQL for a measure; `condition` already includes the measure's window bound."""
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
