"""Reading whole numbers out of numeric blobs without ever failing the statement.

AE documents only `toUInt32` for turning text into a number (reference §3, type
conversion), with no non-throwing variant, and ClickHouse fails the whole statement on the
first blob it cannot parse — evaluating both branches of `if()` inside aggregates, so a
guard around the conversion is not enough. The conversion therefore only ever sees digits:
`toUInt32(if(is_number(blob), blob, '0'))`, where `is_number` uses documented string
functions. A row whose blob is not a number fails every ordered comparison and has no
value to aggregate; equality with a whole number stays a plain text match.
"""

from __future__ import annotations

from collections.abc import Callable

from alertd.query import sql
from alertd.rules.ast import FieldRef, RowArith, RowExpr, RowNeg

DIGITS = sql.Str("0123456789")
# The most digits a UInt32 has; a longer number would wrap around, not fail.
MAX_DIGITS = 10
MAX_UINT32 = sql.Str("4294967295")


def numeric_blob_columns(expr: RowExpr | None) -> tuple[str, ...]:
    """The numeric blob columns a number expression reads, each once, in order."""
    if isinstance(expr, FieldRef):
        return (expr.column,) if expr.numeric_blob else ()
    if isinstance(expr, RowArith):
        both = numeric_blob_columns(expr.left) + numeric_blob_columns(expr.right)
        return tuple(dict.fromkeys(both))
    if isinstance(expr, RowNeg):
        return numeric_blob_columns(expr.operand)
    return ()


def to_number(column: str, fallback: int = 0, number_test: NumberTest | None = None) -> sql.Expr:
    """The blob as a UInt32; a blob that is not a whole number reads as `fallback`."""
    blob = sql.Col(column)
    test = (number_test or is_number)(column)
    readable = sql.Call("if", (test, blob, sql.Str(str(fallback))))
    return sql.Call("toUInt32", (readable,))


def all_numbers(columns: tuple[str, ...], number_test: NumberTest | None = None) -> sql.Expr | None:
    """True when every one of the blob columns holds a whole number (None: no columns)."""
    result: sql.Expr | None = None
    for column in columns:
        check = (number_test or is_number)(column)
        result = check if result is None else sql.Binary("AND", result, check)
    return result


# Where a statement computes each blob's number check once, a column that holds it.
NumberTest = Callable[[str], sql.Expr]


def is_number(column: str) -> sql.Expr:
    """1 to 10 digits, at most 4294967295: exactly the text toUInt32 reads without loss."""
    blob = sql.Col(column)
    length = sql.Call("length", (blob,))
    # position() of a character outside the digits is 0; past the end the needle is empty,
    # which SQL finds at position 1, so one product checks every character at once.
    product: sql.Expr = _digit_position(blob, 1)
    for offset in range(2, MAX_DIGITS + 1):
        product = sql.Binary("*", product, _digit_position(blob, offset))
    checks: tuple[sql.Expr, ...] = (
        sql.Binary(">=", length, sql.Num(1)),
        sql.Binary("<=", length, sql.Num(MAX_DIGITS)),
        # Digit strings of the same length order as their numbers do.
        sql.Binary(
            "OR",
            sql.Binary("<", length, sql.Num(MAX_DIGITS)),
            sql.Binary("<=", blob, MAX_UINT32),
        ),
        sql.Binary(">", product, sql.Num(0)),
    )
    result = checks[0]
    for check in checks[1:]:
        result = sql.Binary("AND", result, check)
    return result


def _digit_position(blob: sql.Col, offset: int) -> sql.Expr:
    character = sql.Call("substring", (blob, sql.Num(offset), sql.Num(1)))
    return sql.Position(character, DIGITS)
