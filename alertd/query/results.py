"""Read query answers back into one value per (rule, series)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from alertd.model import Labels, Rows
from alertd.query.aggregates import aggregate_from, needed_measures
from alertd.query.evidence import Evidence, evidence_from, evidence_reads, weighed_aggregate
from alertd.query.measures import Measure
from alertd.query.plan import BatchKey, Plan, PlannedQuery, batch_key
from alertd.rules.ast import (
    BoundAggregate,
    Number,
    ValueArith,
    ValueExpr,
    ValueNeg,
    bound_aggregates,
)
from alertd.rules.ruleset import Rule

_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


@dataclass(frozen=True)
class SeriesValue:
    """A rule's value for one series; None when it cannot be computed from the data."""

    value: float | None
    samples: int
    # The rows behind the value, for a rule with `confidence` (query/evidence.py).
    evidence: Evidence | None = None


@dataclass
class RuleResult:
    """One rule's answer at a tick: a value per series, or the reason it has none."""

    rule: Rule
    series: dict[Labels, SeriesValue] = field(default_factory=dict)  # labels sorted by name
    error: str | None = None


# One series' measure values, by the number its batch gave each measure: hashing small
# integers is far cheaper than hashing measure expressions for every series.
_Cells = dict[int, float]
_Table = dict[Labels, _Cells]


def read(plan: Plan, answers: Mapping[PlannedQuery, Rows | Exception]) -> dict[str, RuleResult]:
    """Combine the answers of a plan's queries into one RuleResult per rule.

    A rule any of whose queries failed gets the error and no series, so a failure can
    never look like an all-clear.
    """
    layout = _layout(plan)
    tables: dict[BatchKey, _Table] = {}
    failures: dict[BatchKey, str] = {}
    for planned, columns in zip(plan.queries, layout.columns, strict=True):
        answer = answers.get(planned)
        if answer is None or isinstance(answer, Exception):
            failures.setdefault(planned.key, str(answer) if answer else "query not run")
            continue
        _fill(tables.setdefault(planned.key, {}), columns, answer)
    results: dict[str, RuleResult] = {}
    for rule, keys, wanted, evidence in layout.rules:
        failed = [failures[k] for k in keys if k in failures]
        if failed:
            results[rule.name] = RuleResult(rule, error=failed[0])
            continue
        readers = [
            _Reader(bound, bound.aggregate.func, tables.get(key, _NO_TABLE), numbers)
            for bound, key, numbers in wanted
        ]
        weighed = None
        if evidence is not None:
            key, numbers = evidence
            weighed = _EvidenceReader(rule, tables.get(key, _NO_TABLE), numbers)
        results[rule.name] = RuleResult(rule, _series(rule, readers, weighed))
    return results


# How a statement's rows fill its batch's table: each label's name and column alias
# (sorted by name), and each measure's number and alias.
_Columns = tuple[tuple[tuple[str, str], ...], tuple[tuple[int, str], ...]]


@dataclass(frozen=True)
class _Layout:
    """What reading a plan's answers needs and every tick of it shares: the columns of
    each statement, and which measures each rule reads, by number."""

    held: tuple[object, ...]  # what its key holds the identities of
    columns: tuple[_Columns, ...]
    rules: tuple[
        tuple[
            Rule,
            tuple[BatchKey, ...],
            tuple[tuple[BoundAggregate, BatchKey, tuple[int, ...]], ...],
            tuple[BatchKey, tuple[int, ...]] | None,
        ],
        ...,
    ]


# A plan filled from a template shares its rules and each statement's labels and measures
# with every other tick's: kept by their identities (held, so none is reused).
_LAYOUTS: dict[tuple[int, ...], _Layout] = {}
_LAYOUTS_KEPT = 1_000


def _layout(plan: Plan) -> _Layout:
    held: tuple[object, ...] = (
        plan.rules,
        *(part for p in plan.queries for part in (p.key, p.labels, p.measures)),
    )
    key = tuple(map(id, held))
    found = _LAYOUTS.get(key)
    if found is None:
        if len(_LAYOUTS) > _LAYOUTS_KEPT:
            _LAYOUTS.clear()
        found = _LAYOUTS[key] = _new_layout(plan, held)
    return found


def _new_layout(plan: Plan, held: tuple[object, ...]) -> _Layout:
    numbers: dict[BatchKey, dict[Measure, int]] = {}
    columns: list[_Columns] = []
    for planned in plan.queries:
        numbered = numbers.setdefault(planned.key, {})
        # Label names are unique in a batch: sorting them sorts the label pairs.
        names = tuple(sorted((name, alias) for alias, name in planned.labels.items()))
        measures = tuple(
            (numbered.setdefault(m, len(numbered)), alias) for m, alias in planned.measures.items()
        )
        columns.append((names, measures))
    rules = []
    for rule in plan.rules:
        aggregates = rule.aggregates
        keys = tuple(batch_key(rule, b.dataset) for b in aggregates)
        window = int(rule.window.total_seconds())
        wanted = tuple(
            (bound, key, _numbers(_needed(bound, window), numbers.get(key, {})))
            for bound, key in zip(aggregates, keys, strict=True)
        )
        weighed = weighed_aggregate(rule)
        evidence = None
        if weighed is not None:
            key = batch_key(rule, weighed.dataset)
            evidence = (key, _numbers(_evidence_reads(rule), numbers.get(key, {})))
        rules.append((rule, keys, wanted, evidence))
    return _Layout(held, tuple(columns), tuple(rules))


def _numbers(measures: list[Measure], numbered: Mapping[Measure, int]) -> tuple[int, ...]:
    """The numbers of `measures`; -1 for one no statement carried."""
    return tuple(numbered.get(m, -1) for m in measures)


@dataclass(frozen=True)
class _EvidenceReader:
    """The rows behind a `confidence` rule's value, read from its batch's table."""

    rule: Rule
    table: _Table
    numbers: tuple[int, ...]  # of `evidence_reads(rule)`; -1 for one no statement carried

    def read(self, labels: Labels) -> Evidence | None:
        cells = self.table.get(labels, _NO_CELLS)
        return evidence_from(self.rule, [cells.get(n, 0.0) for n in self.numbers])


def _fill(table: _Table, columns: _Columns, answer: Rows) -> None:
    """Add one statement's rows to its batch's table."""
    names, measures = columns
    for row in answer.data:
        labels = tuple([(name, str(row[alias])) for name, alias in names])
        cells = table.get(labels)
        if cells is None:
            cells = table[labels] = {}
        for number, alias in measures:
            cells[number] = float(row[alias])  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Reader:
    """How one aggregate of a rule is read from its batch's table."""

    bound: BoundAggregate
    func: str
    table: _Table
    numbers: tuple[int, ...]  # of its needed measures; -1 for one no statement carried

    def read(self, labels: Labels) -> tuple[float | None, int]:
        # A series absent from one dataset's answer had no matching rows there.
        cells = self.table.get(labels, _NO_CELLS)
        return aggregate_from(self.func, [cells.get(n, 0.0) for n in self.numbers])


_NO_CELLS: _Cells = {}
_NO_TABLE: _Table = {}

# What each aggregate and each rule reads, kept: building measures, and hashing them, for
# every rule of every tick costs more than the tick's arithmetic. Keyed by identity (rules
# are immutable once loaded; the entry holds the object, so its id is not reused), and
# emptied when reloads have piled up more than any rule set holds.
_NEEDED: dict[tuple[int, int], tuple[BoundAggregate, list[Measure]]] = {}
_EVIDENCE: dict[int, tuple[Rule, list[Measure]]] = {}
_KEPT = 100_000


def _needed(bound: BoundAggregate, window: int) -> list[Measure]:
    found = _NEEDED.get((id(bound), window))
    if found is None:
        if len(_NEEDED) > _KEPT:
            _NEEDED.clear()
        found = _NEEDED[id(bound), window] = (bound, needed_measures(bound, window))
    return found[1]


def _evidence_reads(rule: Rule) -> list[Measure]:
    found = _EVIDENCE.get(id(rule))
    if found is None:
        if len(_EVIDENCE) > _KEPT:
            _EVIDENCE.clear()
        found = _EVIDENCE[id(rule)] = (rule, evidence_reads(rule))
    return found[1]


def _series(
    rule: Rule, readers: list[_Reader], evidence: _EvidenceReader | None = None
) -> dict[Labels, SeriesValue]:
    tables = list({id(r.table): r.table for r in readers}.values())
    labels: Iterable[Labels] = tables[0] if len(tables) == 1 else _union(tables)  # or none
    series: dict[Labels, SeriesValue] = {}
    if isinstance(rule.value, BoundAggregate):
        # The common rule, one aggregate: its value is the aggregate's.
        [reader] = readers
        for label_set in labels:
            value, samples = reader.read(label_set)
            # A group whose every aggregate matched no row is no series at all: rules that
            # share a query would otherwise make empty groups appear and disappear.
            if samples:
                finite = value if value is None or math.isfinite(value) else None
                weighed = evidence.read(label_set) if evidence is not None else None
                series[label_set] = SeriesValue(finite, samples, weighed)
        return series
    below = {id(b) for b in denominators(rule.value)}
    for label_set in labels:
        read = {id(r.bound): r.read(label_set) for r in readers}
        counted = [samples for _, samples in read.values()]
        if not any(counted):
            continue
        divided = [read[i][1] for i in below]
        value = evaluate(rule.value, _looked_up(read))
        series[label_set] = SeriesValue(value, min(divided) if divided else max(counted))
    return series


def _looked_up(
    read: Mapping[int, tuple[float | None, int]],
) -> Callable[[BoundAggregate], float | None]:
    """An aggregate's value among those read for one series (by the node's identity)."""
    return lambda bound: read[id(bound)][0]


def _union(tables: list[_Table]) -> dict[Labels, None]:
    labels: dict[Labels, None] = {}
    for table in tables:
        labels.update(dict.fromkeys(table))
    return labels


def denominators(expr: ValueExpr) -> list[BoundAggregate]:
    """The aggregates a value divides by."""
    if isinstance(expr, ValueArith):
        found = denominators(expr.left) + denominators(expr.right)
        if expr.op in "/%":
            found += bound_aggregates(expr.right)
        return found
    if isinstance(expr, ValueNeg):
        return denominators(expr.operand)
    return []


def evaluate(expr: ValueExpr, aggregate: Callable[[BoundAggregate], float | None]) -> float | None:
    """Compute a value expression; unknown operands and division by zero give None."""
    if isinstance(expr, BoundAggregate):
        value = aggregate(expr)
        # AE has no NULL; a NaN or infinity from the data is no value, not a verdict.
        return value if value is None or math.isfinite(value) else None
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, ValueNeg):
        inner = evaluate(expr.operand, aggregate)
        return None if inner is None else -inner
    if isinstance(expr, ValueArith):
        left, right = evaluate(expr.left, aggregate), evaluate(expr.right, aggregate)
        if left is None or right is None or (expr.op in "/%" and right == 0):
            return None
        result = _ARITH[expr.op](left, right)
        return result if math.isfinite(result) else None
    raise TypeError(f"unbound value node {expr!r}")
