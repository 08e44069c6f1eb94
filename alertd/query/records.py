"""Answer a planned query from records a non-SQL source fetched, computed here in Python.

A Workers GraphQL or JSON health source answers with a few records (one per script, one
per database), never with AE rows, so the measures a plan asks for are computed over
those records exactly as AE would over rows whose `_sample_interval` is 1. The window was
already applied by the source when it asked its backend; every record counts.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from alertd.model import Cell, Column, Rows
from alertd.query.measures import Measure
from alertd.query.plan import PlannedQuery
from alertd.rules.ast import (
    BoolOp,
    Compare,
    FieldRef,
    InList,
    Literal,
    Not,
    RowArith,
    RowExpr,
    RowNeg,
)

# One fetched record: label fields hold text, value fields numbers (None when absent).
RecordValue = str | float | None
Record = Mapping[str, RecordValue]
Scalar = str | float | bool | None

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


def answer(planned: PlannedQuery, records: Sequence[Record]) -> Rows:
    """The rows `planned` would have returned: one per label set, one column per measure."""
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        key = tuple(_text(record.get(name)) for name in planned.labels.values())
        groups.setdefault(key, []).append(record)
    columns = (
        *(Column(alias, "String") for alias in planned.labels),
        *(Column(alias, "Float64") for alias in planned.measures.values()),
    )
    data: list[dict[str, Cell]] = []
    for key, members in groups.items():
        row: dict[str, Cell] = dict(zip(planned.labels, key, strict=True))
        for measure, alias in planned.measures.items():
            row[alias] = measure_value(measure, members)
        data.append(row)
    return Rows(columns, tuple(data))


def measure_value(measure: Measure, records: Sequence[Record]) -> float:
    """One measure over records: counts and sums of nothing are 0, as AE's are."""
    matching = [r for r in records if measure.cond is None or _holds(measure.cond, r)]
    if measure.kind in ("events", "rows"):
        if measure.arg is not None:
            matching = [r for r in matching if _number(measure.arg, r) is not None]
        return float(len(matching))
    assert measure.arg is not None
    values = sorted(v for r in matching if (v := _number(measure.arg, r)) is not None)
    if measure.kind == "sum":
        return math.fsum(values)
    if not values:
        return 0.0  # never read: the row count measure says there is nothing
    if measure.kind == "min":
        return values[0]
    if measure.kind == "max":
        return values[-1]
    assert measure.level is not None
    # quantileExact's choice: the value at position floor(level * n) of the sorted values.
    return values[min(int(measure.level * len(values)), len(values) - 1)]


def _text(value: RecordValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(expr: RowExpr, record: Record) -> float | None:
    value = _eval(expr, record)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def _holds(expr: RowExpr, record: Record) -> bool:
    return _eval(expr, record) is True


def _eval(expr: RowExpr, record: Record) -> Scalar:
    if isinstance(expr, FieldRef):
        return record.get(expr.name)
    if isinstance(expr, Literal):
        return expr.value if isinstance(expr.value, str | bool) else float(expr.value)
    if isinstance(expr, RowArith):
        left, right = _number(expr.left, record), _number(expr.right, record)
        if left is None or right is None or (expr.op in "/%" and right == 0):
            return None
        return _ARITH[expr.op](left, right)
    if isinstance(expr, RowNeg):
        operand = _number(expr.operand, record)
        return None if operand is None else -operand
    if isinstance(expr, Compare):
        return _compare(expr, record)
    if isinstance(expr, InList):
        value = _eval(expr.operand, record)
        found = any(_same(value, _eval(v, record)) for v in expr.values)
        return found != expr.negated
    if isinstance(expr, BoolOp):
        results = [_holds(operand, record) for operand in expr.operands]
        return all(results) if expr.op == "and" else any(results)
    assert isinstance(expr, Not)
    return not _holds(expr.operand, record)


def _compare(expr: Compare, record: Record) -> bool:
    left, right = _eval(expr.left, record), _eval(expr.right, record)
    if left is None or right is None:
        return False
    if isinstance(left, str) != isinstance(right, str):
        # A text field compared with a number: compare as numbers when it holds one.
        left, right = _number(expr.left, record), _number(expr.right, record)
        if left is None or right is None:
            return False
    return _COMPARE[expr.op](left, right)


def _same(left: Scalar, right: Scalar) -> bool:
    if isinstance(left, str) and not isinstance(right, str) and right is not None:
        try:
            return float(left) == right
        except ValueError:
            return False
    return left == right
