"""The planner: all rules due at one tick, batched into as few AE queries as possible.

Rules on the same dataset and grouping share one query. Their filters and windows become
conditions inside the aggregates, so one scan of the longest window answers them all;
identical measures are computed once. A batch is split only when its SQL would pass the
size AE accepts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertd.errors import AlertdError
from alertd.model import Query
from alertd.query import sql
from alertd.query.aggregates import needed_measures
from alertd.query.measures import TIMESTAMP, Measure, compile_measure
from alertd.query.rows import compile_row
from alertd.rules.ast import BoolOp, RowExpr, conjoin
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset

# AE limits the request body, which is the statement in UTF-8, to about 10,000 bytes.
MAX_SQL_BYTES = 9000


class PlanError(AlertdError, ValueError):
    """A rule cannot be compiled into a statement AE would accept."""


@dataclass(frozen=True)
class BatchKey:
    """What lets rules share a query: the dataset and the set of group-by fields."""

    dataset: str
    by: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class PlannedQuery:
    """One statement of a batch, and how to read its columns back (hashed by identity)."""

    key: BatchKey
    query: Query
    labels: Mapping[str, str]  # column alias -> label name
    measures: Mapping[Measure, str]  # measure -> column alias


@dataclass(frozen=True)
class Plan:
    at: dt.datetime
    rules: tuple[Rule, ...]
    queries: tuple[PlannedQuery, ...]


def batch_key(rule: Rule, dataset: str) -> BatchKey:
    return BatchKey(dataset, tuple(sorted(rule.by)))


def plan(rules: Sequence[Rule], datasets: Mapping[str, Dataset], at: dt.datetime) -> Plan:
    """Plan the queries that answer every rule for the windows ending at `at`."""
    at = at.replace(microsecond=0)
    batches: dict[BatchKey, dict[Measure, None]] = {}
    members: dict[BatchKey, dict[str, None]] = {}
    for rule in rules:
        window = int(rule.window.total_seconds())
        for bound in rule.aggregates:
            key = batch_key(rule, bound.dataset)
            measures = batches.setdefault(key, {})
            for measure in needed_measures(bound, window):
                measures.setdefault(measure)
            members.setdefault(key, {})[rule.name] = None
    queries: list[PlannedQuery] = []
    for key, measures in batches.items():
        queries.extend(
            _compile_batch(key, list(measures), tuple(members[key]), datasets[key.dataset], at)
        )
    return Plan(at, tuple(rules), tuple(queries))


def _compile_batch(
    key: BatchKey,
    measures: list[Measure],
    rule_names: tuple[str, ...],
    dataset: Dataset,
    at: dt.datetime,
) -> list[PlannedQuery]:
    longest = max(m.window_seconds for m in measures)
    start = at - dt.timedelta(seconds=longest)
    shared = _shared_conjuncts(measures)
    where: sql.Expr = sql.Binary(
        "AND",
        sql.Binary(">=", TIMESTAMP, sql.datetime_literal(start)),
        sql.Binary("<", TIMESTAMP, sql.datetime_literal(at)),
    )
    for conjunct in shared:
        where = sql.Binary("AND", where, compile_row(conjunct))
    label_columns = tuple(
        (sql.Col(dataset.fields[name].column), f"g{i}") for i, name in enumerate(key.by)
    )
    labels = {alias: name for (_, alias), name in zip(label_columns, key.by, strict=True)}
    columns = [(_measure_sql(m, shared, longest, at), f"m{i}", m) for i, m in enumerate(measures)]
    chunks = _split(label_columns, columns, key, where, rule_names)
    planned = []
    for chunk in chunks:
        select = sql.Select(
            columns=(*label_columns, *((expr, alias) for expr, alias, _ in chunk)),
            table=key.dataset,
            where=where,
            group_by=tuple(alias for _, alias in label_columns),
        )
        planned.append(
            PlannedQuery(
                key=key,
                query=Query(
                    sql.render(select),
                    key.dataset,
                    rule_names,
                    labels=tuple(labels),
                    measures=tuple(alias for _, alias, _ in chunk),
                ),
                labels=labels,
                measures={m: alias for _, alias, m in chunk},
            )
        )
    return planned


def _conjuncts(cond: RowExpr | None) -> tuple[RowExpr, ...]:
    if cond is None:
        return ()
    return cond.operands if isinstance(cond, BoolOp) and cond.op == "and" else (cond,)


def _shared_conjuncts(measures: list[Measure]) -> tuple[RowExpr, ...]:
    """Conditions every measure of a batch has: they move to WHERE, so AE scans less."""
    first = _conjuncts(measures[0].cond)
    return tuple(c for c in first if all(c in _conjuncts(m.cond) for m in measures[1:]))


def _measure_sql(
    measure: Measure, shared: tuple[RowExpr, ...], longest: int, at: dt.datetime
) -> sql.Expr:
    own = conjoin(*(c for c in _conjuncts(measure.cond) if c not in shared))
    condition = compile_row(own) if own is not None else None
    if measure.window_seconds < longest:
        start = at - dt.timedelta(seconds=measure.window_seconds)
        bound = sql.Binary(">=", TIMESTAMP, sql.datetime_literal(start))
        condition = bound if condition is None else sql.Binary("AND", bound, condition)
    return compile_measure(measure, condition)


def _split(
    label_columns: tuple[tuple[sql.Expr, str], ...],
    columns: list[tuple[sql.Expr, str, Measure]],
    key: BatchKey,
    where: sql.Expr,
    rule_names: tuple[str, ...],
) -> list[list[tuple[sql.Expr, str, Measure]]]:
    """Split the measure columns so each statement stays under MAX_SQL_BYTES."""
    base = _size(
        sql.render(sql.Select(label_columns or ((sql.Num(0), "x"),), key.dataset, where, ()))
    )
    base += _size("\nGROUP BY ") + sum(_size(a) + 2 for _, a in label_columns)
    chunks: list[list[tuple[sql.Expr, str, Measure]]] = [[]]
    size = base
    for column in columns:
        width = _size(sql.render_expr(column[0])) + _size(column[1]) + 8
        if base + width > MAX_SQL_BYTES:
            raise PlanError(
                f"one aggregate of {', '.join(rule_names)} needs {base + width} bytes of SQL; "
                f"AE accepts about {MAX_SQL_BYTES}: shorten its filter"
            )
        if size + width > MAX_SQL_BYTES and chunks[-1]:
            chunks.append([])
            size = base
        chunks[-1].append(column)
        size += width
    return chunks


def _size(text: str) -> int:
    """Bytes `text` takes in the request body, where a non-ASCII character takes 2 to 4."""
    return len(text.encode("utf-8"))
