"""Expressions back to rule-language text: for messages, and to prove the parser's round trip."""

from __future__ import annotations

import json

from alertd.rules.ast import (
    Aggregate,
    BoolOp,
    BoundAggregate,
    Compare,
    FieldRef,
    InList,
    Literal,
    Not,
    Number,
    QueryRef,
    RowArith,
    RowExpr,
    RowNeg,
    ValueArith,
    ValueExpr,
    ValueNeg,
)

_PERCENTILE_NAMES = {0.5: "p50", 0.9: "p90", 0.95: "p95", 0.99: "p99"}


def row_text(expr: RowExpr) -> str:
    """Fully parenthesised text that parses back to `expr`."""
    if isinstance(expr, FieldRef):
        return expr.name
    if isinstance(expr, Literal):
        return _literal(expr.value)
    if isinstance(expr, RowArith):
        return f"({row_text(expr.left)} {expr.op} {row_text(expr.right)})"
    if isinstance(expr, RowNeg):
        return f"-({row_text(expr.operand)})"
    if isinstance(expr, Compare):
        return f"({row_text(expr.left)} {expr.op} {row_text(expr.right)})"
    if isinstance(expr, InList):
        values = ", ".join(_literal(v.value) for v in expr.values)
        keyword = "not in" if expr.negated else "in"
        return f"({row_text(expr.operand)} {keyword} [{values}])"
    if isinstance(expr, BoolOp):
        return "(" + f" {expr.op} ".join(row_text(o) for o in expr.operands) + ")"
    if isinstance(expr, Not):
        return f"(not {row_text(expr.operand)})"
    raise TypeError(f"unexpected row expression {expr!r}")


def value_text(expr: ValueExpr) -> str:
    """Fully parenthesised text that parses back to `expr`."""
    if isinstance(expr, BoundAggregate):
        return value_text(expr.aggregate)
    if isinstance(expr, Aggregate):
        return _aggregate(expr)
    if isinstance(expr, Number):
        return repr(expr.value)
    if isinstance(expr, QueryRef):
        return expr.name
    if isinstance(expr, ValueArith):
        return f"({value_text(expr.left)} {expr.op} {value_text(expr.right)})"
    if isinstance(expr, ValueNeg):
        return f"-({value_text(expr.operand)})"
    raise TypeError(f"unexpected value expression {expr!r}")


def _aggregate(agg: Aggregate) -> str:
    args: list[str] = []
    name: str = agg.func
    if agg.func == "quantile" and agg.level is not None:
        name = _PERCENTILE_NAMES.get(agg.level, "quantile")
        if name == "quantile":
            args.append(repr(agg.level))
    if agg.arg is not None:
        args.append(row_text(agg.arg))
    if agg.cond is not None:
        args.append(row_text(agg.cond))
    if agg.of is not None:
        args.append(row_text(agg.of))
    return f"{name}({', '.join(args)})"


def _literal(value: str | float | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value < 0:
        return f"-{_literal(-value)}"
    return repr(value)
