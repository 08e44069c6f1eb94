"""A small typed SQL tree and its renderer: the only way alertd writes SQL text.

Only constructs the AE SQL reference documents can be expressed here. Identifiers come
from a fixed set of AE column names or from validated dataset names; literals are escaped
or rejected, so no text taken from a rule file can change a statement's meaning.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from alertd.errors import UnsafeLiteralError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Control characters have no portable escape in AE's undocumented literal syntax.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Num:
    value: int | float


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Call:
    """`name(args)`, or `name(params)(args)` for parametric aggregates."""

    name: str
    args: tuple[Expr, ...] = ()
    params: tuple[Expr, ...] | None = None


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr


@dataclass(frozen=True)
class In:
    operand: Expr
    values: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True)
class Position:
    """`position(needle IN haystack)`, the form AE documents: 1-based, 0 when absent."""

    needle: Expr
    haystack: Expr


Expr = Col | Str | Num | Bool | Call | Binary | Unary | In | Position

BINARY_OPS = frozenset({"+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "AND", "OR"})


@dataclass(frozen=True)
class Select:
    """`SELECT … FROM table WHERE … GROUP BY … FORMAT JSON`, every column aliased."""

    columns: tuple[tuple[Expr, str], ...]
    table: str
    where: Expr | None = None
    group_by: tuple[str, ...] = ()


def string_literal(value: str) -> str:
    """A single-quoted literal that reads back as exactly `value`."""
    if _UNSAFE_CHARACTERS.search(value):
        raise UnsafeLiteralError(f"string {value!r} contains a control character")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def number_literal(value: int | float) -> str:
    if isinstance(value, bool):
        raise UnsafeLiteralError("a boolean is not a number")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise UnsafeLiteralError(f"number {value} cannot be written in SQL")
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def datetime_literal(value: dt.datetime) -> Call:
    """An absolute UTC time, as AE's `toDateTime('YYYY-MM-DD hh:mm:ss')` reads it."""
    if value.tzinfo is None:
        raise ValueError("a query time must be timezone-aware")
    utc = value.astimezone(dt.UTC)
    return Call("toDateTime", (Str(utc.strftime("%Y-%m-%d %H:%M:%S")),))


def identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise UnsafeLiteralError(f"{name!r} is not a plain identifier")
    return name


def render_expr(expr: Expr) -> str:
    """SQL text of an expression, every compound parenthesised so precedence never matters."""
    if isinstance(expr, Col):
        return identifier(expr.name)
    if isinstance(expr, Str):
        return string_literal(expr.value)
    if isinstance(expr, Num):
        return number_literal(expr.value)
    if isinstance(expr, Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, Call):
        args = ", ".join(render_expr(a) for a in expr.args)
        if expr.params is None:
            return f"{identifier(expr.name)}({args})"
        params = ", ".join(render_expr(p) for p in expr.params)
        return f"{identifier(expr.name)}({params})({args})"
    if isinstance(expr, Binary):
        if expr.op not in BINARY_OPS:
            raise ValueError(f"unknown operator {expr.op}")
        return f"({render_expr(expr.left)} {expr.op} {render_expr(expr.right)})"
    if isinstance(expr, Unary):
        if expr.op not in ("-", "NOT"):
            raise ValueError(f"unknown operator {expr.op}")
        return f"({expr.op} {render_expr(expr.operand)})"
    if isinstance(expr, Position):
        return f"position({render_expr(expr.needle)} IN {render_expr(expr.haystack)})"
    keyword = "NOT IN" if expr.negated else "IN"
    values = ", ".join(render_expr(v) for v in expr.values)
    return f"({render_expr(expr.operand)} {keyword} ({values}))"


def render(select: Select) -> str:
    """The statement's text, ending in FORMAT JSON."""
    columns = ",\n  ".join(f"{render_expr(e)} AS {identifier(a)}" for e, a in select.columns)
    text = f"SELECT\n  {columns}\nFROM {identifier(select.table)}"
    if select.where is not None:
        text += f"\nWHERE {render_expr(select.where)}"
    if select.group_by:
        text += "\nGROUP BY " + ", ".join(identifier(g) for g in select.group_by)
    return text + "\nFORMAT JSON"
