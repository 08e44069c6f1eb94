"""Tie a value's aggregates to their dataset and filter, resolving named queries."""

from __future__ import annotations

from collections.abc import Mapping

from alertd.rules.ast import (
    Aggregate,
    BoundAggregate,
    Number,
    QueryRef,
    RowExpr,
    ValueArith,
    ValueExpr,
    ValueNeg,
)


def bind(
    expr: ValueExpr,
    dataset: str | None,
    where: RowExpr | None,
    queries: Mapping[str, ValueExpr] | None = None,
) -> ValueExpr:
    """Replace every Aggregate by a BoundAggregate and every QueryRef by its bound query."""
    if isinstance(expr, Aggregate):
        if dataset is None:
            raise ValueError("an aggregate outside a named query has no dataset")
        return BoundAggregate(dataset, where, expr)
    if isinstance(expr, QueryRef):
        if queries is None or expr.name not in queries:
            raise ValueError(f"unknown query {expr.name!r}")
        return queries[expr.name]
    if isinstance(expr, ValueArith):
        return ValueArith(
            expr.op,
            bind(expr.left, dataset, where, queries),
            bind(expr.right, dataset, where, queries),
        )
    if isinstance(expr, ValueNeg):
        return ValueNeg(bind(expr.operand, dataset, where, queries))
    if isinstance(expr, Number | BoundAggregate):
        return expr
    raise TypeError(f"unexpected value node {expr!r}")
