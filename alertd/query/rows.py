"""Row expressions — filters and aggregate arguments — as SQL over AE's positional columns."""

from __future__ import annotations

import operator
from collections.abc import Callable

from alertd.query import sql
from alertd.query.blob_numbers import (
    MAX_UINT32,
    NumberTest,
    all_numbers,
    is_number,
    numeric_blob_columns,
    to_number,
)
from alertd.rules.ast import (
    BoolOp,
    Compare,
    CompareOp,
    FieldRef,
    InList,
    Literal,
    Not,
    RowArith,
    RowExpr,
    RowNeg,
)

_COMPARE_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_HOLDS: dict[CompareOp, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# What a blob that is not a number may read as in a comparison with a constant, when the
# comparison is then false: cheaper than guarding the comparison with the digit check.
_FALLBACKS = (0, int(MAX_UINT32.value))


def compile_row(expr: RowExpr, number_test: NumberTest = is_number) -> sql.Expr:
    """SQL for a row expression over AE's positional columns.

    `number_test` gives the check that a numeric blob holds a number: written out in full
    by default, or a column where a subquery computes it once for the whole statement.
    """
    if isinstance(expr, FieldRef):
        if expr.numeric_blob:
            return to_number(expr.column, number_test=number_test)
        return sql.Col(expr.column)
    if isinstance(expr, Literal):
        if isinstance(expr.value, bool):
            return sql.Bool(expr.value)
        return sql.Str(expr.value) if isinstance(expr.value, str) else sql.Num(expr.value)
    if isinstance(expr, RowArith):
        return sql.Binary(
            expr.op, compile_row(expr.left, number_test), compile_row(expr.right, number_test)
        )
    if isinstance(expr, RowNeg):
        return sql.Unary("-", compile_row(expr.operand, number_test))
    if isinstance(expr, Compare):
        return _compare(expr, number_test)
    if isinstance(expr, InList):
        return _in_list(expr, number_test)
    if isinstance(expr, BoolOp):
        op = "AND" if expr.op == "and" else "OR"
        compiled = [compile_row(o, number_test) for o in expr.operands]
        result = compiled[0]
        for operand in compiled[1:]:
            result = sql.Binary(op, result, operand)
        return result
    if isinstance(expr, Not):
        return sql.Unary("NOT", compile_row(expr.operand, number_test))
    raise TypeError(f"unexpected row expression {expr!r}")


def _compare(expr: Compare, number_test: NumberTest) -> sql.Expr:
    """A comparison; one with a numeric blob that is not a number is false."""
    if expr.op in ("==", "!=") and (text := _as_text_match(expr.left, expr.right)):
        column, literal = text
        return sql.Binary(_COMPARE_OPS[expr.op], column, literal)
    if (simple := _blob_against_constant(expr, number_test)) is not None:
        return simple
    compared = sql.Binary(
        _COMPARE_OPS[expr.op],
        compile_row(expr.left, number_test),
        compile_row(expr.right, number_test),
    )
    blobs = numeric_blob_columns(expr.left) + numeric_blob_columns(expr.right)
    return _when_numbers(tuple(dict.fromkeys(blobs)), compared, number_test)


def _blob_against_constant(expr: Compare, number_test: NumberTest) -> sql.Expr | None:
    """`statusCode >= 500` with a non-number read as a value that makes it false."""
    left, right = expr.left, expr.right
    for field, other, flipped in ((left, right, False), (right, left, True)):
        if not (isinstance(field, FieldRef) and field.numeric_blob):
            continue
        if not isinstance(other, Literal) or isinstance(other.value, str | bool):
            continue
        constant = other.value
        for fallback in _FALLBACKS:
            pair = (constant, fallback) if flipped else (fallback, constant)
            if not _HOLDS[expr.op](*pair):
                value = to_number(field.column, fallback, number_test)
                sides = (sql.Num(constant), value) if flipped else (value, sql.Num(constant))
                return sql.Binary(_COMPARE_OPS[expr.op], *sides)
    return None


def _in_list(expr: InList, number_test: NumberTest) -> sql.Expr:
    member = expr.operand
    if isinstance(member, FieldRef) and member.numeric_blob and all(map(_whole, expr.values)):
        texts = tuple(sql.Str(str(int(v.value))) for v in expr.values)
        return sql.In(sql.Col(member.column), texts, expr.negated)
    values = tuple(compile_row(v, number_test) for v in expr.values)
    listed = sql.In(compile_row(member, number_test), values, expr.negated)
    return _when_numbers(numeric_blob_columns(member), listed, number_test)


def _when_numbers(
    columns: tuple[str, ...], condition: sql.Expr, number_test: NumberTest
) -> sql.Expr:
    """`condition`, false on rows where one of the numeric blobs is not a number."""
    guard = all_numbers(columns, number_test)
    return condition if guard is None else sql.Binary("AND", guard, condition)


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

    Equality needs no conversion, which is long SQL; only ordered comparisons pay for it.
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
