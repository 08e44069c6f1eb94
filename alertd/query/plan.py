"""The planner: all rules due at one tick, batched into as few AE queries as possible.

Rules on the same dataset and grouping share one query. Their filters and windows become
weights inside the aggregates, so one scan of the longest window answers them all. A
subquery in FROM computes, once per row, each distinct filter, window and argument and
each numeric blob's number check (an inner subquery of its own, since a column cannot
read another alias of the same SELECT); the aggregates weight by those columns, so
nothing is written twice. A batch is split only when its SQL would pass the size AE
accepts.

Rules do not change between ticks, so a plan is compiled once into statement templates
and each tick only fills in its two time bounds.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from alertd.errors import AlertdError
from alertd.model import Query
from alertd.query import sql
from alertd.query.blob_numbers import NumberTest, is_number
from alertd.query.evidence import rule_measures
from alertd.query.measures import (
    COUNTING,
    SAMPLE_INTERVAL,
    TIMESTAMP,
    Measure,
    compile_measure,
    needs_numbers,
)
from alertd.query.rows import compile_row
from alertd.rules.ast import BoolOp, RowExpr
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset

# AE limits the request body, which is the statement in UTF-8, to about 10,000 bytes.
MAX_SQL_BYTES = 9000
# The column a range statement groups its time buckets by.
BUCKET = "_bucket"
# The newest row's timestamp, which a tick's statement reads past its windows' end.
NEWEST = "_newest"
# Raw rows scanned, and those of them before the windows' end: how many landed after it
# tells how complete the newest seconds are (the fill of the trailing part).
SCANNED = "_scanned"
BEFORE_END = "_before_end"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Plans kept compiled: one per group of rules the daemon evaluates, and some to spare.
PLAN_CACHE_SIZE = 64


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
    # The span scanned before the end bound (the longest window), when it scans past it.
    window: dt.timedelta | None = None


@dataclass(frozen=True)
class Plan:
    at: dt.datetime
    rules: tuple[Rule, ...]
    queries: tuple[PlannedQuery, ...]


def batch_key(rule: Rule, dataset: str) -> BatchKey:
    return BatchKey(dataset, tuple(sorted(rule.by)))


def plan(
    rules: Sequence[Rule],
    datasets: Mapping[str, Dataset],
    at: dt.datetime,
    now: dt.datetime | None = None,
) -> Plan:
    """Plan the queries that answer every rule for the windows ending at `at`.

    With `now`, each statement scans on to it and also returns the newest timestamp it
    saw, which tells how late the dataset's rows land."""
    return plan_template(rules, datasets, freshness=now is not None).fill(at, now)


@dataclass(frozen=True, eq=False)
class StatementTemplate:
    """One statement of a batch, its time bounds left to fill."""

    key: BatchKey
    text: sql.Template
    longest: dt.timedelta
    rule_names: tuple[str, ...]
    labels: Mapping[str, str]
    measures: Mapping[Measure, str]
    newest: str | None = None

    def fill(self, at: dt.datetime, now: dt.datetime | None = None) -> PlannedQuery:
        query = Query(
            self.text.fill(at - self.longest, at, max(at, now or at)),
            self.key.dataset,
            self.rule_names,
            labels=tuple(self.labels),
            measures=tuple(self.measures.values()),
            newest=self.newest,
        )
        window = self.longest if self.newest is not None else None
        return PlannedQuery(self.key, query, self.labels, self.measures, window)


@dataclass(frozen=True, eq=False)
class PlanTemplate:
    """Every statement a set of rules needs, ready for any tick."""

    rules: tuple[Rule, ...]
    datasets: Mapping[str, Dataset]
    statements: tuple[StatementTemplate, ...]

    # The last plan filled in: a backtest asks for each tick's plan twice (to answer it
    # from its tables, then to evaluate it), and rendering the bounds is most of the cost.
    last: list[Plan] = field(default_factory=list)

    def fill(self, at: dt.datetime, now: dt.datetime | None = None) -> Plan:
        at = at.replace(microsecond=0)
        if now is not None:  # a live tick: scanned on to `now`, asked for once
            now = now.replace(microsecond=0)
            return Plan(at, self.rules, tuple(s.fill(at, now) for s in self.statements))
        if self.last and self.last[0].at == at:
            return self.last[0]
        filled = Plan(at, self.rules, tuple(s.fill(at) for s in self.statements))
        self.last[:] = [filled]
        return filled


_templates: OrderedDict[tuple[object, ...], PlanTemplate] = OrderedDict()


def plan_template(
    rules: Sequence[Rule],
    datasets: Mapping[str, Dataset],
    max_sql_bytes: int = MAX_SQL_BYTES,
    *,
    freshness: bool = False,
) -> PlanTemplate:
    """The statements for `rules`, compiled once and kept for the next ticks.

    Rules and datasets are immutable once loaded, so the very same objects always compile
    to the same statements; a template holds them, so their ids cannot be reused while it
    is kept.
    """
    key = (id(datasets), max_sql_bytes, freshness, *map(id, rules))
    template = _templates.get(key)
    if template is not None:
        _templates.move_to_end(key)
        return template
    template = _compile_plan(tuple(rules), datasets, max_sql_bytes, freshness)
    _templates[key] = template
    if len(_templates) > PLAN_CACHE_SIZE:
        _templates.popitem(last=False)
    return template


def _compile_plan(
    rules: tuple[Rule, ...], datasets: Mapping[str, Dataset], max_sql_bytes: int, freshness: bool
) -> PlanTemplate:
    batches: dict[BatchKey, dict[Measure, None]] = {}
    members: dict[BatchKey, dict[str, None]] = {}
    for rule in rules:
        window = int(rule.window.total_seconds())
        for bound in rule.aggregates:
            key = batch_key(rule, bound.dataset)
            measures = batches.setdefault(key, {})
            for measure in rule_measures(rule, bound, window):
                measures.setdefault(measure)
            members.setdefault(key, {})[rule.name] = None
    statements: list[StatementTemplate] = []
    for key, measures in batches.items():
        batch = Batch(
            key, list(measures), tuple(members[key]), datasets[key.dataset], freshness=freshness
        )
        statements.extend(batch.compile(max_sql_bytes))
    return PlanTemplate(rules, datasets, tuple(statements))


def _conjuncts(cond: RowExpr | None) -> tuple[RowExpr, ...]:
    if cond is None:
        return ()
    return cond.operands if isinstance(cond, BoolOp) and cond.op == "and" else (cond,)


def _shared_conjuncts(measures: list[Measure]) -> tuple[RowExpr, ...]:
    """Conditions every measure of a batch has: they move to WHERE, so AE scans less."""
    first = _conjuncts(measures[0].cond)
    return tuple(c for c in first if all(c in _conjuncts(m.cond) for m in measures[1:]))


# A factor: a measure's window (seconds), one of its filters, or a blob's number check.
FactorKey = tuple[str, Hashable]
# What each added column costs besides its text: ",\n  " before it and " AS " in it.
_COLUMN_OVERHEAD = len(",\n  ") + len(" AS ")
_SAMPLE_INTERVAL_ALIAS = "_sample_interval"


@dataclass(eq=False)
class _Column:
    """A column of a subquery: rendered once, with what it reads from the rows below."""

    alias: str
    text: sql.Rendered
    reads: frozenset[str]  # dataset columns
    numbers: frozenset[str]  # aliases of number checks

    @property
    def size(self) -> int:
        return _size(self.text.text) + _size(self.alias) + _COLUMN_OVERHEAD


@dataclass(eq=False)
class _Aggregate:
    measure: Measure
    alias: str
    text: sql.Rendered
    factors: tuple[_Column, ...]
    value: _Column | None

    @property
    def size(self) -> int:
        return _size(self.text.text) + _size(self.alias) + _COLUMN_OVERHEAD

    @property
    def columns(self) -> tuple[_Column, ...]:
        return self.factors if self.value is None else (*self.factors, self.value)


@dataclass(eq=False)
class Batch:
    """The measures of one (dataset, grouping), compiled into statement templates."""

    key: BatchKey
    measures: list[Measure]
    rule_names: tuple[str, ...]
    dataset: Dataset
    # Grouped by besides the labels, as `_bucket`: a range statement's time bucket.
    bucket: sql.Expr | None = None
    # Scan on to the `now` bound and select the newest timestamp; every aggregate still
    # counts only the rows before the end bound.
    freshness: bool = False
    factors: dict[FactorKey, _Column] = field(default_factory=dict)
    values: dict[RowExpr, _Column] = field(default_factory=dict)
    numbers: dict[str, _Column] = field(default_factory=dict)  # blob column -> its check

    def compile(self, max_sql_bytes: int) -> list[StatementTemplate]:
        self.longest = max(m.window_seconds for m in self.measures)
        self.shared = _shared_conjuncts(self.measures)
        where: sql.Expr = sql.Binary(
            "AND",
            sql.Binary(">=", TIMESTAMP, sql.TimeBound("start")),
            sql.Binary("<", TIMESTAMP, sql.TimeBound("now" if self.freshness else "end")),
        )
        for conjunct in self.shared:
            where = sql.Binary("AND", where, compile_row(conjunct))
        self.where = where
        self.label_columns = tuple(self.dataset.fields[name].column for name in self.key.by)
        self.label_aliases = tuple(f"g{i}" for i in range(len(self.key.by)))
        aggregates = [self._aggregate(m, f"m{i}") for i, m in enumerate(self.measures)]
        statements = [self._statement(chunk) for chunk in self._split(aggregates, max_sql_bytes)]
        # _split sums the sizes of the columns it adds; a statement it sized must fit.
        assert all(_size(_fill(s)) <= max_sql_bytes for s in statements), self.key
        return statements

    def _aggregate(self, measure: Measure, alias: str) -> _Aggregate:
        factors: list[_Column] = []
        if measure.ending is not None:
            factors.append(self._ending(measure.window_seconds, measure.ending))
        elif measure.window_seconds < self.longest:
            factors.append(self._window(measure.window_seconds))
        if self.freshness and measure.ending is None:
            factors.append(self._before_end())
        factors.extend(self._filter(c) for c in _conjuncts(measure.cond) if c not in self.shared)
        factors.extend(self._holds_number(column) for column in needs_numbers(measure))
        value = self._value(measure.arg) if measure.kind not in COUNTING else None
        expr = compile_measure(
            measure,
            tuple(sql.Col(f.alias) for f in factors),
            None if value is None else sql.Col(value.alias),
        )
        return _Aggregate(measure, alias, sql.Rendered(expr), tuple(factors), value)

    def _window(self, seconds: int) -> _Column:
        """Rows of the last `seconds`, counted back from the end bound of each tick."""
        since = sql.Binary("-", sql.TimeBound("end"), sql.Seconds(seconds))
        return self._factor(("window", seconds), lambda _: sql.Binary(">=", TIMESTAMP, since))

    def _before_end(self) -> _Column:
        """Rows before the end bound: the scan goes on to now only to find the newest row."""
        before = sql.Binary("<", TIMESTAMP, sql.TimeBound("end"))
        return self._factor(("before_end", None), lambda _: before)

    def _ending(self, seconds: int, ending: int) -> _Column:
        """Rows of the `seconds` before the epoch second `ending`: one window of a range."""
        end = sql.datetime_literal(EPOCH + dt.timedelta(seconds=ending))
        start = sql.datetime_literal(EPOCH + dt.timedelta(seconds=ending - seconds))
        inside = sql.Binary(
            "AND", sql.Binary(">=", TIMESTAMP, start), sql.Binary("<", TIMESTAMP, end)
        )
        return self._factor(("ending", (seconds, ending)), lambda _: inside)

    def _filter(self, conjunct: RowExpr) -> _Column:
        return self._factor(("filter", conjunct), lambda test: compile_row(conjunct, test))

    def _holds_number(self, column: str) -> _Column:
        return self._factor(("number", column), lambda test: test(column))

    def _factor(self, key: FactorKey, condition: Callable[[NumberTest], sql.Expr]) -> _Column:
        """A 0/1 column of the subquery, computed once however many aggregates use it."""
        if key not in self.factors:
            checks: set[str] = set()
            holds = condition(lambda column: self._number_test(column, checks))
            indicator = sql.Call("if", (holds, sql.Num(1), sql.Num(0)))
            self.factors[key] = _column(f"f{len(self.factors)}", indicator, checks)
        return self.factors[key]

    def _value(self, arg: RowExpr | None) -> _Column:
        assert arg is not None
        if arg not in self.values:
            checks: set[str] = set()
            value = compile_row(arg, lambda c: self._number_test(c, checks))
            self.values[arg] = _column(f"v{len(self.values)}", value, checks)
        return self.values[arg]

    def _number_test(self, column: str, used: set[str]) -> sql.Expr:
        """The column holding `column`'s number check, computed once in the inner subquery."""
        if column not in self.numbers:
            self.numbers[column] = _column(f"n{len(self.numbers)}", is_number(column), set())
        check = self.numbers[column]
        used.add(check.alias)
        # Compared, not used bare: AE documents conditions, not numbers, inside if().
        return sql.Binary("=", sql.Col(check.alias), sql.Num(1))

    def _split(self, aggregates: list[_Aggregate], max_sql_bytes: int) -> list[list[_Aggregate]]:
        """Group the aggregates into statements that each stay under `max_sql_bytes`."""
        base = _size(_fill(self._statement([], inner=False)))
        inner_base = _size(_fill(self._statement([], inner=True))) - base
        checks = {c.alias: c for c in self.numbers.values()}
        passed = {*self.label_columns, SAMPLE_INTERVAL.name}
        chunks: list[list[_Aggregate]] = []
        chunk: list[_Aggregate] = []
        size = base
        columns: set[int] = set()
        reads: set[str] = set()
        numbers: set[str] = set()

        def cost(aggregate: _Aggregate) -> int:
            extra = aggregate.size
            new_reads: set[str] = set()
            new_numbers: set[str] = set()
            for column in aggregate.columns:
                if id(column) not in columns:
                    extra += column.size
                    new_reads |= column.reads
                    new_numbers |= column.numbers
            new_numbers -= numbers
            extra += sum([checks[n].size for n in new_numbers])
            if numbers or new_numbers:
                pass_through = reads | new_reads if not numbers else new_reads - reads
                extra += sum([_pass_through_size(r) for r in pass_through - passed])
                if not numbers:
                    extra += inner_base
            return extra

        for aggregate in aggregates:
            extra = cost(aggregate)
            if chunk and size + extra > max_sql_bytes:
                chunks.append(chunk)
                chunk, size = [], base
                columns, reads, numbers = set(), set(), set()
                extra = cost(aggregate)
            if size + extra > max_sql_bytes:
                raise PlanError(
                    f"one aggregate of {', '.join(self.rule_names)} needs {size + extra} bytes "
                    f"of SQL; AE accepts about {MAX_SQL_BYTES}: shorten its filter"
                )
            chunk.append(aggregate)
            size += extra
            for column in aggregate.columns:
                columns.add(id(column))
                reads |= column.reads
                numbers |= column.numbers
        chunks.append(chunk)
        return chunks

    def _statement(self, chunk: list[_Aggregate], inner: bool | None = None) -> StatementTemplate:
        used: dict[int, _Column] = {}
        for aggregate in chunk:
            for column in aggregate.columns:
                used.setdefault(id(column), column)
        # Subquery columns in the order they were first needed across the batch.
        middle = sorted(used.values(), key=_order)
        number_aliases = {n for column in middle for n in column.numbers}
        checks = [c for c in self.numbers.values() if c.alias in number_aliases]
        labels: tuple[tuple[sql.Expr, str], ...] = tuple(
            (sql.Col(column), alias)
            for column, alias in zip(self.label_columns, self.label_aliases, strict=True)
        )
        grouped = (*self.label_aliases, *((BUCKET,) if self.bucket is not None else ()))
        if self.bucket is not None:
            labels = (*labels, (self.bucket, BUCKET))
        middle_columns: tuple[tuple[sql.Expr, str], ...] = (
            *labels,
            (SAMPLE_INTERVAL, _SAMPLE_INTERVAL_ALIAS),
            *((column.text, column.alias) for column in middle),
            *(((TIMESTAMP, TIMESTAMP.name),) if self.freshness else ()),
        )
        if bool(checks) if inner is None else inner:
            reads = dict.fromkeys([*self.label_columns, SAMPLE_INTERVAL.name])
            if self.bucket is not None:
                reads.update(dict.fromkeys(sql.columns_read(self.bucket)))
            if self.freshness:
                reads[TIMESTAMP.name] = None
            for column in middle:
                reads.update(dict.fromkeys(sorted(column.reads)))
            inner_columns: tuple[tuple[sql.Expr, str], ...] = (
                *((sql.Col(name), name) for name in reads),
                *((check.text, check.alias) for check in checks),
            )
            source = sql.Subquery(
                middle_columns, sql.Subquery(inner_columns, self.key.dataset, self.where)
            )
        else:
            source = sql.Subquery(middle_columns, self.key.dataset, self.where)
        newest: tuple[tuple[sql.Expr, str], ...] = ()
        if self.freshness:
            before = sql.Binary("<", TIMESTAMP, sql.TimeBound("end"))
            newest = (
                (sql.Call("max", (TIMESTAMP,)), NEWEST),
                (sql.Call("count"), SCANNED),
                (sql.Call("sum", (sql.Call("if", (before, sql.Num(1), sql.Num(0))),)), BEFORE_END),
            )
        select = sql.Select(
            columns=(
                *((sql.Col(alias), alias) for alias in grouped),
                *((aggregate.text, aggregate.alias) for aggregate in chunk),
                *newest,
            ),
            table=source,
            group_by=grouped,
        )
        return StatementTemplate(
            key=self.key,
            text=sql.render_template(select),
            longest=dt.timedelta(seconds=self.longest),
            rule_names=self.rule_names,
            labels=dict(zip(self.label_aliases, self.key.by, strict=True)),
            measures={aggregate.measure: aggregate.alias for aggregate in chunk},
            newest=NEWEST if self.freshness else None,
        )


def _column(alias: str, expr: sql.Expr, numbers: set[str]) -> _Column:
    reads = frozenset(sql.columns_read(expr)) - numbers
    return _Column(alias, sql.Rendered(expr), reads, frozenset(numbers))


def _order(column: _Column) -> tuple[str, int]:
    return column.alias[0], int(column.alias[1:])


def _pass_through_size(name: str) -> int:
    return 2 * _size(name) + _COLUMN_OVERHEAD


def _fill(template: StatementTemplate) -> str:
    return template.text.fill(CHECK_BOUNDS, CHECK_BOUNDS)


# Any instant: every time bound renders to the same number of bytes.
CHECK_BOUNDS = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _size(text: str) -> int:
    """Bytes `text` takes in the request body, where a non-ASCII character takes 2 to 4."""
    return len(text.encode("utf-8"))
