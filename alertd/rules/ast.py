"""The typed expression tree: row conditions and values, checked against a dataset schema.

Two levels exist. Row expressions (`RowExpr`) are judged per Analytics Engine row and end up
inside SQL. Value expressions (`ValueExpr`) combine aggregates over a window and are computed
by alertd from the aggregate columns a query returns, so division by zero and cross-dataset
arithmetic never reach the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal as TypingLiteral


class FieldKind(Enum):
    STRING = "string"
    NUMBER = "number"


@dataclass(frozen=True)
class FieldRef:
    """A named field of a dataset, resolved to its positional AE column."""

    name: str
    column: str
    kind: FieldKind
    numeric_blob: bool = False


@dataclass(frozen=True)
class Literal:
    value: str | float | int | bool

    @property
    def kind(self) -> FieldKind:
        return FieldKind.STRING if isinstance(self.value, str) else FieldKind.NUMBER


ArithOp = TypingLiteral["+", "-", "*", "/", "%"]
CompareOp = TypingLiteral["==", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class RowArith:
    op: ArithOp
    left: RowExpr
    right: RowExpr


@dataclass(frozen=True)
class RowNeg:
    operand: RowExpr


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: RowExpr
    right: RowExpr


@dataclass(frozen=True)
class InList:
    operand: RowExpr
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class BoolOp:
    op: TypingLiteral["and", "or"]
    operands: tuple[RowExpr, ...]


@dataclass(frozen=True)
class Not:
    operand: RowExpr


RowExpr = FieldRef | Literal | RowArith | RowNeg | Compare | InList | BoolOp | Not

AggregateFunc = TypingLiteral["count", "sum", "avg", "min", "max", "quantile", "ratio"]


@dataclass(frozen=True)
class Aggregate:
    """One aggregate over a window: `func(arg)` over rows where `cond` holds.

    For `ratio`, `cond` is the numerator condition and `of` the population.
    """

    func: AggregateFunc
    arg: RowExpr | None = None
    cond: RowExpr | None = None
    of: RowExpr | None = None
    level: float | None = None


@dataclass(frozen=True)
class BoundAggregate:
    """An aggregate tied to the dataset and rule filter it is computed over."""

    dataset: str
    where: RowExpr | None
    aggregate: Aggregate


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class QueryRef:
    """A reference to one of a rule's named queries, before binding."""

    name: str


@dataclass(frozen=True)
class ValueArith:
    op: ArithOp
    left: ValueExpr
    right: ValueExpr


@dataclass(frozen=True)
class ValueNeg:
    operand: ValueExpr


ValueExpr = Aggregate | BoundAggregate | Number | QueryRef | ValueArith | ValueNeg


def conjoin(*conditions: RowExpr | None) -> RowExpr | None:
    """AND of the given conditions, None meaning "every row"."""
    present = tuple(c for c in conditions if c is not None)
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    flat: list[RowExpr] = []
    for c in present:
        flat.extend(c.operands if isinstance(c, BoolOp) and c.op == "and" else (c,))
    return BoolOp("and", tuple(flat))


def bound_aggregates(expr: ValueExpr) -> list[BoundAggregate]:
    """Every bound aggregate of a value expression, left to right."""
    if isinstance(expr, BoundAggregate):
        return [expr]
    if isinstance(expr, ValueArith):
        return bound_aggregates(expr.left) + bound_aggregates(expr.right)
    if isinstance(expr, ValueNeg):
        return bound_aggregates(expr.operand)
    return []
