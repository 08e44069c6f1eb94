"""From the parse tree to the typed tree: names resolved, types checked, positions kept."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal as TypingLiteral
from typing import cast

from lark import Token, Tree

from alertd.errors import ExpressionError
from alertd.rules import syntax
from alertd.rules.ast import (
    Aggregate,
    ArithOp,
    BoolOp,
    Compare,
    CompareOp,
    FieldKind,
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
from alertd.rules.schema import Dataset

RowType = TypingLiteral["string", "number", "bool"]
PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
NUMERIC_AGGREGATES = ("sum", "avg", "min", "max")
AGGREGATES = ("count", "ratio", "quantile", *NUMERIC_AGGREGATES, *PERCENTILES)

Node = Tree[Token] | Token


def _pos(node: Node | None) -> int:
    if isinstance(node, Token):
        return node.start_pos or 0
    if isinstance(node, Tree) and not node.meta.empty:
        return node.meta.start_pos
    return 0


def _children(tree: Tree[Token]) -> list[Node]:
    return [c for c in tree.children if c is not None]


def parse_condition(text: str, dataset: Dataset) -> RowExpr:
    """A row condition such as `status == "error" and table in ["users", "pitches"]`."""
    tree = syntax.parse(text)
    expr, kind = _RowChecker(dataset).check(tree)
    if kind != "bool":
        raise ExpressionError('a condition must be true or false, e.g. status == "error"', 0)
    return expr


def parse_value(text: str, dataset: Dataset | None, query_names: Collection[str] = ()) -> ValueExpr:
    """A value such as `p95(duration)` or `errors / requests` over named queries."""
    value = _ValueChecker(dataset, query_names).check(syntax.parse(text))
    if not _reads_data(value):
        # A constant never changes: its rule would always fire or never, whatever the data.
        raise ExpressionError("value must contain an aggregate such as count() or p95(x)", 0)
    return value


def _reads_data(value: ValueExpr) -> bool:
    if isinstance(value, ValueArith):
        return _reads_data(value.left) or _reads_data(value.right)
    if isinstance(value, ValueNeg):
        return _reads_data(value.operand)
    return not isinstance(value, Number)


class _RowChecker:
    """Types a row expression: fields are strings or numbers, conditions are booleans."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def check(self, node: Node) -> tuple[RowExpr, RowType]:
        if isinstance(node, Token):
            raise ExpressionError(f"unexpected {node.value!r}", _pos(node))
        handler = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise ExpressionError(f"{node.data} is not allowed here", _pos(node))
        return cast(tuple[RowExpr, RowType], handler(node))

    def condition(self, node: Node) -> RowExpr:
        expr, kind = self.check(node)
        if kind != "bool":
            raise ExpressionError(
                'expected a condition (true or false), e.g. status == "error"', _pos(node)
            )
        return expr

    def number(self, node: Node) -> RowExpr:
        expr, kind = self.check(node)
        if kind != "number":
            raise ExpressionError(
                f"expected a number, but {_describe(expr)} is a {kind}", _pos(node)
            )
        return expr

    def _name(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        token = cast(Token, tree.children[0])
        field = self.dataset.field(token.value)
        if field is None:
            known = ", ".join(sorted(self.dataset.fields))
            raise ExpressionError(
                f"unknown field {token.value!r} in dataset {self.dataset.name} (known: {known})",
                _pos(token),
            )
        return field, "number" if field.kind is FieldKind.NUMBER else "string"

    def _number(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return Literal(_number_value(cast(Token, tree.children[0]))), "number"

    def _string(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return Literal(syntax.unquote(cast(Token, tree.children[0]))), "string"

    def _true(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return Literal(True), "bool"

    def _false(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return Literal(False), "bool"

    def _neg(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        operand = self.number(tree.children[0])
        if isinstance(operand, Literal) and not isinstance(operand.value, str | bool):
            return Literal(-operand.value), "number"
        return RowNeg(operand), "number"

    def _arith(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        left, op, right = tree.children
        operator = cast(ArithOp, cast(Token, op).value)
        if operator == "%":
            # An integer modulo by zero fails the whole AE query, not one row.
            raise ExpressionError("% is not supported inside an aggregate or condition", _pos(op))
        return RowArith(operator, self.number(left), self.number(right)), "number"

    def _compare(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        left_node, op, right_node = tree.children
        left, left_kind = self.check(left_node)
        right, right_kind = self.check(right_node)
        if left_kind == "bool" or right_kind == "bool":
            raise ExpressionError("conditions cannot be compared with each other", _pos(tree))
        if left_kind != right_kind:
            raise ExpressionError(
                f"cannot compare {_describe(left)} ({left_kind}) "
                f"with {_describe(right)} ({right_kind})",
                _pos(tree),
            )
        return Compare(cast(CompareOp, cast(Token, op).value), left, right), "bool"

    def _in_(self, tree: Tree[Token], negated: bool = False) -> tuple[RowExpr, RowType]:
        operand_node, list_node = tree.children
        operand, kind = self.check(operand_node)
        if kind == "bool":
            raise ExpressionError("`in` needs a field, not a condition", _pos(tree))
        values: list[Literal] = []
        for item in _children(cast(Tree[Token], list_node)):
            value, item_kind = self.check(item)
            if not isinstance(value, Literal) or item_kind != kind:
                raise ExpressionError(
                    f"every item of this list must be a {kind} literal", _pos(item)
                )
            values.append(value)
        if not values:
            raise ExpressionError("an `in` list needs at least one item", _pos(list_node))
        return InList(operand, tuple(values), negated), "bool"

    def _not_in(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return self._in_(tree, negated=True)

    def _and_(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return BoolOp("and", tuple(self.condition(c) for c in _children(tree))), "bool"

    def _or_(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return BoolOp("or", tuple(self.condition(c) for c in _children(tree))), "bool"

    def _not_(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        return Not(self.condition(tree.children[0])), "bool"

    def _call(self, tree: Tree[Token]) -> tuple[RowExpr, RowType]:
        name = cast(Token, tree.children[0]).value
        raise ExpressionError(
            f"{name}() is an aggregate; it cannot appear inside a row condition", _pos(tree)
        )


class _ValueChecker:
    """Types a value: arithmetic over aggregates, numbers and named queries."""

    def __init__(self, dataset: Dataset | None, query_names: Collection[str]) -> None:
        self.dataset = dataset
        self.query_names = query_names

    def check(self, node: Node) -> ValueExpr:
        if isinstance(node, Tree) and node.data == "number":
            return Number(float(_number_value(cast(Token, node.children[0]))))
        if isinstance(node, Tree) and node.data == "name":
            return self._name(cast(Token, node.children[0]))
        if isinstance(node, Tree) and node.data == "neg":
            return ValueNeg(self.check(node.children[0]))
        if isinstance(node, Tree) and node.data == "arith":
            left, op, right = node.children
            return ValueArith(
                cast(ArithOp, cast(Token, op).value), self.check(left), self.check(right)
            )
        if isinstance(node, Tree) and node.data == "call":
            return self._call(node)
        raise ExpressionError(
            "a value must be a number built from aggregates, e.g. p95(duration) or "
            'count(status == "error") / count(); conditions belong inside an aggregate',
            _pos(node),
        )

    def _name(self, token: Token) -> ValueExpr:
        if token.value in self.query_names:
            return QueryRef(token.value)
        if self.dataset is not None and self.dataset.field(token.value) is not None:
            raise ExpressionError(
                f"field {token.value!r} must be inside an aggregate, e.g. avg({token.value})",
                _pos(token),
            )
        hint = f" (named queries: {', '.join(self.query_names)})" if self.query_names else ""
        raise ExpressionError(f"unknown name {token.value!r}{hint}", _pos(token))

    def _call(self, tree: Tree[Token]) -> ValueExpr:
        name_token = cast(Token, tree.children[0])
        name = name_token.value
        args = _children(tree)[1:]
        if name not in AGGREGATES:
            raise ExpressionError(
                f"unknown function {name}() (known: {', '.join(AGGREGATES)})", _pos(name_token)
            )
        if self.dataset is None:
            raise ExpressionError(
                f"{name}() needs a dataset; with named queries, aggregates go in `queries`",
                _pos(name_token),
            )
        rows = _RowChecker(self.dataset)
        if name == "count":
            _arity(name, args, 0, 1, tree)
            return Aggregate("count", cond=rows.condition(args[0]) if args else None)
        if name == "ratio":
            _arity(name, args, 1, 2, tree)
            return Aggregate(
                "ratio",
                cond=rows.condition(args[0]),
                of=rows.condition(args[1]) if len(args) > 1 else None,
            )
        level: float | None = None
        if name == "quantile":
            _arity(name, args, 2, 3, tree)
            level = _level(args[0])
            args = args[1:]
        else:
            _arity(name, args, 1, 2, tree)
            level = PERCENTILES.get(name)
        cond = rows.condition(args[1]) if len(args) > 1 else None
        arg = _numeric_argument(rows, name, args[0])
        func = "quantile" if level is not None else name
        return Aggregate(
            cast(TypingLiteral["sum", "avg", "min", "max", "quantile"], func),
            arg=arg,
            cond=cond,
            level=level,
        )


def _numeric_argument(rows: _RowChecker, func: str, node: Node) -> RowExpr:
    expr, kind = rows.check(node)
    if kind != "number":
        what = (
            f"{expr.name!r} is a {kind} field"
            if isinstance(expr, FieldRef)
            else f"its argument is a {kind}"
        )
        raise ExpressionError(
            f"{func}() needs a number, but {what} of {rows.dataset.name}", _pos(node)
        )
    return expr


def _arity(name: str, args: list[Node], low: int, high: int, tree: Tree[Token]) -> None:
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"{name}() takes {expected} arguments, got {len(args)}", _pos(tree))


def _level(node: Node) -> float:
    if not (isinstance(node, Tree) and node.data == "number"):
        raise ExpressionError("quantile() needs a number between 0 and 1 first", _pos(node))
    level = float(_number_value(cast(Token, node.children[0])))
    if not 0.0 < level <= 1.0:
        raise ExpressionError(f"quantile level {level} is not in (0, 1]", _pos(node))
    return level


def _number_value(token: Token) -> int | float:
    text = token.value
    if all(ch.isdigit() for ch in text):
        return int(text)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ExpressionError(f"number {text} is out of range", _pos(token))
    return value


def _describe(expr: RowExpr) -> str:
    if isinstance(expr, FieldRef):
        return repr(expr.name)
    if isinstance(expr, Literal):
        return repr(expr.value)
    return "the expression"
