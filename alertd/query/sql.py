"""A small typed SQL tree and its renderer: the only way alertd writes SQL text.

Only constructs the AE SQL reference documents can be expressed here. Identifiers come
from a fixed set of AE column names or from validated dataset names; literals are escaped
or rejected, so no text taken from a rule file can change a statement's meaning.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

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


@dataclass(frozen=True)
class Seconds:
    """A span of whole seconds, as AE documents interval literals: `INTERVAL '60' SECOND`
    (the number quoted). Subtracted from a time bound, it counts a window back."""

    value: int


@dataclass(frozen=True)
class TimeBound:
    """The start or the end of the scanned time range, filled in when a statement is sent;
    `now`, when the scan goes past the end, to see how fresh the data is.

    A planned statement is a template: every tick reuses it with its own bounds.
    """

    which: Literal["start", "end", "now"]


@dataclass(frozen=True, eq=False)
class Rendered:
    """An expression rendered once, for a planner that sizes its columns before it builds
    the statement; the text is always `render_expr(expr)`."""

    expr: Expr
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", render_expr(self.expr))


Expr = (
    Col | Str | Num | Bool | Call | Binary | Unary | In | Position | Seconds | TimeBound | Rendered
)

BINARY_OPS = frozenset({"+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "AND", "OR"})


@dataclass(frozen=True)
class Select:
    """`SELECT … FROM source WHERE … GROUP BY … FORMAT JSON`, every column aliased.

    The source is a dataset or, as AE documents, a subquery in FROM: one without an alias,
    a FORMAT or a GROUP BY of its own, whose columns the outer statement reads by alias.
    """

    columns: tuple[tuple[Expr, str], ...]
    table: str | Subquery
    where: Expr | None = None
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subquery:
    """`(SELECT … FROM source WHERE …)`: one row out for every row in, so it computes
    per-row columns once for every aggregate of the statement around it."""

    columns: tuple[tuple[Expr, str], ...]
    table: str | Subquery
    where: Expr | None = None


# Stands for a time bound in rendered text; no literal or identifier can contain it.
_BOUND_MARK = "\x00"


@dataclass(frozen=True)
class Template:
    """A statement's text around its time bounds: `fill` gives the statement for a tick."""

    pieces: tuple[str, ...]
    bounds: tuple[Literal["start", "end", "now"], ...]

    def fill(self, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None) -> str:
        ends = _bound_text(end)
        values = {
            "start": _bound_text(start),
            "end": ends,
            # Rendered only when it differs: most statements are filled every tick.
            "now": ends if now is None or now == end else _bound_text(now),
        }
        parts = [self.pieces[0]]
        for bound, piece in zip(self.bounds, self.pieces[1:], strict=True):
            parts.append(values[bound])
            parts.append(piece)
        return "".join(parts)


@functools.lru_cache(maxsize=4096)
def _bound_text(value: dt.datetime) -> str:
    """A time bound's text, kept: ticks fill the same few instants again and again (one
    tick's end is a later tick's window start)."""
    return render_expr(datetime_literal(value))


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
    if isinstance(expr, Seconds):
        if expr.value < 0:
            raise UnsafeLiteralError(f"a negative span of {expr.value} seconds")
        return f"INTERVAL '{int(expr.value)}' SECOND"
    if isinstance(expr, TimeBound):
        return f"{_BOUND_MARK}{expr.which}{_BOUND_MARK}"
    if isinstance(expr, Rendered):
        return expr.text
    keyword = "NOT IN" if expr.negated else "IN"
    values = ", ".join(render_expr(v) for v in expr.values)
    return f"({render_expr(expr.operand)} {keyword} ({values}))"


def render(select: Select) -> str:
    """The statement's text, ending in FORMAT JSON; it must have no time bound to fill."""
    template = render_template(select)
    if template.bounds:
        raise ValueError("the statement has time bounds: fill its template instead")
    return template.pieces[0]


def render_template(select: Select) -> Template:
    """The statement's text, ending in FORMAT JSON, with its time bounds left to fill."""
    text = _render_select(select.columns, select.table, select.where)
    if select.group_by:
        text += "\nGROUP BY " + ", ".join(identifier(g) for g in select.group_by)
    parts = (text + "\nFORMAT JSON").split(_BOUND_MARK)
    bounds: list[Literal["start", "end", "now"]] = []
    for name in parts[1::2]:
        bounds.append("start" if name == "start" else "now" if name == "now" else "end")
    return Template((*parts[0::2],), tuple(bounds))


def column_text(expr: Expr, alias: str) -> str:
    """How one selected column reads in the statement."""
    return f"{render_expr(expr)} AS {identifier(alias)}"


def _render_select(
    columns: tuple[tuple[Expr, str], ...], table: str | Subquery, where: Expr | None
) -> str:
    text = "SELECT\n  " + ",\n  ".join(column_text(e, a) for e, a in columns)
    if isinstance(table, Subquery):
        inner = _render_select(table.columns, table.table, table.where)
        text += f"\nFROM (\n{inner}\n)"
    else:
        text += f"\nFROM {identifier(table)}"
    if where is not None:
        text += f"\nWHERE {render_expr(where)}"
    return text


def columns_read(expr: Expr) -> Iterator[str]:
    """The names of the columns an expression reads, in order, with repeats."""
    if isinstance(expr, Col):
        yield expr.name
    elif isinstance(expr, Call):
        for arg in (*(expr.params or ()), *expr.args):
            yield from columns_read(arg)
    elif isinstance(expr, Binary):
        yield from columns_read(expr.left)
        yield from columns_read(expr.right)
    elif isinstance(expr, Unary):
        yield from columns_read(expr.operand)
    elif isinstance(expr, In):
        yield from columns_read(expr.operand)
        for value in expr.values:
            yield from columns_read(value)
    elif isinstance(expr, Position):
        yield from columns_read(expr.needle)
        yield from columns_read(expr.haystack)
    elif isinstance(expr, Rendered):
        yield from columns_read(expr.expr)
