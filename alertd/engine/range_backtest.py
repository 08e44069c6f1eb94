"""Replay rules over history from range statements: a few statements per chunk of the
range instead of a batch per tick, judged tick by tick by the very evaluator `backtest`
uses.

Each chunk's statements (alertd/query/range_plan.py) give every series' measures per time
bucket, and every quantile per window. Each tick then gets the answers its own plan would
have got from AE, rebuilt from those: bucket values summed (or min/max-ed) over the tick's
window on our side. The evaluator, lifecycle, source health and notifier see nothing
else, so transitions and notifications are those of the tick-by-tick replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import (
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import cast

import anyio
import anyio.abc

from alertd.engine.backtest import After, Instants, ticks
from alertd.engine.evaluator import Evaluator
from alertd.errors import SourceError, UnsafeLiteralError
from alertd.model import Cell, Query, Rows, Transition
from alertd.query.measures import Measure
from alertd.query.plan import BUCKET, BatchKey, PlanError, PlannedQuery, StatementTemplate, plan
from alertd.query.range_plan import (
    InstantFamily,
    RangePlan,
    RangeStatement,
    Timed,
    instant_query,
    range_plan,
    stripped,
)
from alertd.rules.ruleset import Group, RuleSet
from alertd.sources.base import Source
from alertd.store.base import Store
from alertd.store.memory import MemoryStore

DEFAULT_CHUNK = dt.timedelta(hours=1)
# What a conditional min/max gives where no row counts (see alertd/query/measures.py).
_MIN_NEUTRAL = 1e308
_MAX_NEUTRAL = -1e308

Labels = tuple[Cell, ...]  # label values in the order of the batch's `by`
Cells = dict[int, float]  # a measure's number (see _Columns) -> its value


@dataclass
class Statistics:
    """What a range replay asked the source."""

    statements: int = 0
    sql_bytes: int = 0
    rows: int = 0


class _Series:
    """One series' buckets over a chunk's scan, by position: which buckets had rows, and
    each measure's value per bucket (0.0 where a sum had no row, which adds nothing; None
    where a min or max had none)."""

    __slots__ = ("columns", "present")

    def __init__(self, size: int) -> None:
        self.present = bytearray(size)
        self.columns: dict[int, list[float | None]] = {}


@dataclass
class _Buckets:
    """A (dataset, grouping)'s series over a chunk's scan, in buckets of `width` seconds,
    the first starting at the epoch second `base`."""

    base: int
    width: int
    size: int
    series: dict[Labels, _Series] = field(default_factory=dict)

    def position(self, start: int) -> int:
        """The position of the bucket starting at `start` (a bucket boundary)."""
        return (start - self.base) // self.width


@dataclass
class _Tables:
    """One chunk's answers: measures per series per bucket, quantiles per window end."""

    buckets: dict[BatchKey, _Buckets] = field(default_factory=dict)
    windows: dict[tuple[BatchKey, int], dict[Labels, dict[int, Cells]]] = field(
        default_factory=dict
    )
    failures: dict[BatchKey, SourceError] = field(default_factory=dict)


# How a tick's statement reads one of its measures: alias, kind, window, number.
_Spec = tuple[str, str, int, int]


class _Columns:
    """Numbers for the measures of a range plan, so the values of each tick are looked up
    by small integers, not by hashing rule expressions again and again."""

    def __init__(self) -> None:
        self.numbers: dict[Measure, int] = {}
        # A tick plan's measures are the same mapping every tick: keyed by its identity
        # (and kept, so the identity cannot be reused).
        self._specs: dict[int, tuple[Mapping[Measure, str], list[_Spec]]] = {}

    def number(self, measure: Measure) -> int:
        """The number of a measure without its window."""
        return self.numbers.setdefault(stripped(measure), len(self.numbers))

    def specs(self, measures: Mapping[Measure, str]) -> list[_Spec]:
        found = self._specs.get(id(measures))
        if found is None:
            specs: list[_Spec] = [
                (alias, m.kind, m.window_seconds, self.number(m)) for m, alias in measures.items()
            ]
            found = self._specs[id(measures)] = (measures, specs)
        return found[1]


async def range_backtest(
    ruleset: RuleSet,
    source: Source,
    start: dt.datetime,
    end: dt.datetime,
    *,
    step: dt.timedelta | None = None,
    emit: Callable[[Transition], None] = lambda _: None,
    source_down_after: dt.timedelta = dt.timedelta(minutes=5),
    store: Store | None = None,
    after: After | None = None,
    chunk: dt.timedelta = DEFAULT_CHUNK,
    statistics: Statistics | None = None,
) -> list[Transition]:
    """Every transition the rules make over [start, end], as `backtest` finds them.

    `chunk` bounds the time one batch of statements covers, so answers stay small.
    """
    if chunk <= dt.timedelta(0):
        raise ValueError("a chunk must be longer than zero")
    answers = _Answers()
    evaluator = Evaluator(
        ruleset, answers, store or MemoryStore(), source_down_after=source_down_after
    )
    planned = range_plan(_timed(ruleset.groups, step), ruleset.datasets)
    counted = statistics if statistics is not None else Statistics()
    columns = _Columns()
    transitions: list[Transition] = []
    chunks = _chunks(ticks(ruleset.groups, start, end, step), start, chunk)

    async def fetch(batch: Sequence[tuple[dt.datetime, Group]]) -> _Tables:
        return await _fetch(planned, source, batch, counted, columns)

    instants = Instants(evaluator, after)
    # The next chunk's statements run while this chunk's ticks are judged.
    async with anyio.create_task_group() as tasks:
        batch = next(chunks, None)
        pending = _Pending(tasks, fetch, batch)
        while batch is not None:
            tables = await pending.result()
            following = next(chunks, None)
            pending = _Pending(tasks, fetch, following)
            for at, group in batch:
                answers.answers = _answers(group, ruleset, at, tables, columns)
                await instants.before_tick(at)
                result = await evaluator.tick(group, at)
                for transition in result.transitions:
                    emit(transition)
                    transitions.append(transition)
            batch = following
    await instants.end(end)
    return transitions


def _timed(groups: Iterable[Group], step: dt.timedelta | None) -> Iterator[Timed]:
    for group in groups:
        seconds = int((step or group.interval).total_seconds())
        for rule in group.rules:
            yield Timed(rule, seconds)


_Batch = list[tuple[dt.datetime, Group]]


class _Pending:
    """A chunk's tables, fetched in the background."""

    def __init__(
        self,
        tasks: anyio.abc.TaskGroup,
        fetch: Callable[[_Batch], Awaitable[_Tables]],
        batch: _Batch | None,
    ) -> None:
        self._done = anyio.Event()
        self._tables = _Tables()
        if batch is None:
            self._done.set()
        else:
            tasks.start_soon(self._run, fetch, batch)

    async def _run(self, fetch: Callable[[_Batch], Awaitable[_Tables]], batch: _Batch) -> None:
        self._tables = await fetch(batch)
        self._done.set()

    async def result(self) -> _Tables:
        await self._done.wait()
        return self._tables


def _chunks(
    schedule: Iterable[tuple[dt.datetime, Group]], start: dt.datetime, chunk: dt.timedelta
) -> Iterator[list[tuple[dt.datetime, Group]]]:
    """The ticks in consecutive spans of `chunk`, in order."""
    current: list[tuple[dt.datetime, Group]] = []
    index = 0
    for at, group in schedule:
        here = (at - start) // chunk
        if current and here != index:
            yield current
            current = []
        index = here
        current.append((at, group))
    if current:
        yield current


class _Answers:
    """A source answering each statement of the tick at hand from the chunk's tables."""

    def __init__(self) -> None:
        self.answers: dict[str, Rows | SourceError] = {}

    async def run(self, query: Query) -> Rows:
        answer = self.answers.get(query.sql)
        if answer is None:
            raise SourceError("the range plan has no answer for this statement", retryable=False)
        if isinstance(answer, SourceError):
            raise answer
        return answer

    async def aclose(self) -> None:
        return None


async def _fetch(
    planned: RangePlan,
    source: Source,
    batch: Sequence[tuple[dt.datetime, Group]],
    counted: Statistics,
    columns: _Columns,
) -> _Tables:
    """Run the chunk's statements, concurrently (the source bounds how many at once)."""
    first, last = batch[0][0], batch[-1][0]
    tables = _Tables()
    jobs: list[tuple[Query, Callable[[Rows], None], BatchKey]] = []
    for statement in planned.statements:
        reader = _reader(statement, tables, columns, (_epoch(first), _epoch(last)))
        jobs.append((statement.query(first, last), reader, statement.key))
    for family in planned.families:
        endings = sorted({_epoch(at) for at, group in batch if _reads(group, family)})
        if not endings:
            continue
        for template, timed in planned.instant_statements(family, endings):
            query = instant_query(template, family.window, endings)
            reader = _instant_reader(family, template, timed, tables, columns)
            jobs.append((query, reader, family.key))

    async def one(query: Query, read: Callable[[Rows], None], key: BatchKey) -> None:
        counted.statements += 1
        counted.sql_bytes += len(query.sql.encode("utf-8"))
        try:
            rows = await source.run(query)
        except SourceError as exc:
            tables.failures.setdefault(key, exc)
            return
        counted.rows += len(rows.data)
        try:
            read(rows)
        except SourceError as exc:
            tables.failures.setdefault(key, exc)

    async with anyio.create_task_group() as tasks:
        for query, read, key in jobs:
            tasks.start_soon(one, query, read, key)
    return tables


def _reads(group: Group, family: InstantFamily) -> bool:
    return any(rule.name in family.rule_names for rule in group.rules)


def _epoch(at: dt.datetime) -> int:
    return int(at.timestamp())


def _labels(row: Mapping[str, Cell], aliases: Iterable[str]) -> Labels:
    return tuple(row[alias] for alias in aliases)


def _reader(
    statement: RangeStatement, tables: _Tables, columns: _Columns, ticks: tuple[int, int]
) -> Callable[[Rows], None]:
    template = statement.template
    aliases = tuple(template.labels)
    measures = tuple((columns.number(m), alias) for m, alias in template.measures.items())
    extremes = {columns.number(m) for m in template.measures if m.kind in ("min", "max")}

    def read(rows: Rows) -> None:
        if statement.quantile:
            read_windows(rows)
        else:
            read_buckets(rows)

    def read_windows(rows: Rows) -> None:
        target = tables.windows.setdefault((statement.key, statement.width), {})
        shift = statement.width  # a window is keyed by where it ends
        for row in rows.data:
            at = statement.bucket_start(int(str(row[BUCKET]))) + shift
            cells = target.setdefault(_labels(row, aliases), {}).setdefault(at, {})
            for measure, alias in measures:
                cells[measure] = float(row[alias])  # type: ignore[arg-type]

    def read_buckets(rows: Rows) -> None:
        found = tables.buckets.get(statement.key)
        if found is None:
            # The scan's buckets: from the one holding its start to the one holding its
            # end (statements of one batch share the width and the lookback).
            width = statement.width
            base = (ticks[0] - statement.lookback) // width * width
            size = (ticks[1] - base) // width + 1
            found = tables.buckets[statement.key] = _Buckets(base, width, size)
        table = found.series
        size = found.size
        for row in rows.data:
            position = found.position(statement.bucket_start(int(str(row[BUCKET]))))
            if not 0 <= position < size:
                raise SourceError("the answer has a bucket outside its scan", retryable=False)
            labels = _labels(row, aliases)
            series = table.get(labels)
            if series is None:
                series = table[labels] = _Series(size)
            series.present[position] = 1
            values = series.columns
            for measure, alias in measures:
                column = values.get(measure)
                if column is None:
                    column = values[measure] = [None if measure in extremes else 0.0] * size
                column[position] = float(row[alias])  # type: ignore[arg-type]

    return read


def _instant_reader(
    family: InstantFamily,
    template: StatementTemplate,
    timed: Mapping[Measure, tuple[Measure, int]],
    tables: _Tables,
    columns: _Columns,
) -> Callable[[Rows], None]:
    label_aliases = tuple(template.labels)
    cells = [
        (columns.number(timed[m][0]), timed[m][1], alias) for m, alias in template.measures.items()
    ]

    def read(rows: Rows) -> None:
        target = tables.windows.setdefault((family.key, family.window), {})
        for row in rows.data:
            series = target.setdefault(_labels(row, label_aliases), {})
            for number, ending, alias in cells:
                series.setdefault(ending, {})[number] = float(row[alias])  # type: ignore[arg-type]

    return read


def _answers(
    group: Group, ruleset: RuleSet, at: dt.datetime, tables: _Tables, columns: _Columns
) -> dict[str, Rows | SourceError]:
    """What AE would have answered each statement of the group's plan at `at`."""
    try:
        tick = plan(group.rules, ruleset.datasets, at)
    except (PlanError, UnsafeLiteralError):
        return {}  # the evaluator reports the group unhealthy itself
    at_ = _epoch(tick.at)
    return {p.query.sql: _answer(p, at_, tables, columns) for p in tick.queries}


def _answer(
    planned: PlannedQuery, at: int, tables: _Tables, columns: _Columns
) -> Rows | SourceError:
    key = planned.key
    failure = tables.failures.get(key)
    if failure is not None:
        return failure
    buckets = tables.buckets.get(key)
    if buckets is None:
        return Rows((), ())
    specs = columns.specs(planned.measures)
    longest = max(window for _, _, window, _ in specs)
    if (at - longest - buckets.base) % buckets.width:
        return Rows((), ())  # no bucket starts where the statement's scan starts
    # The statement's scan, as positions [first, end): every window ends at `at` and is a
    # tail of it; positions outside the chunk's scan had no rows.
    end = min(max(_ceiling(at, buckets), 0), buckets.size)
    first = min(max(buckets.position(at - longest), 0), end)
    # Each measure: how it is combined, and where its window starts.
    reads: list[tuple[str, int, str, int, Mapping[Labels, dict[int, Cells]]]] = []
    for alias, kind, window, number in specs:
        if kind == "quantile":
            reads.append((alias, number, kind, 0, tables.windows.get((key, window), {})))
        else:
            start = min(max(_ceiling(at - window, buckets), first), end)
            reads.append((alias, number, kind, start, _NO_WINDOWS))
    aliases = tuple(planned.labels)
    data: list[dict[str, Cell]] = []
    for labels, series in buckets.series.items():
        if series.present.find(1, first, end) < 0:
            continue  # no row of this series in the statement's scan
        row: dict[str, Cell] = dict(zip(aliases, labels, strict=True))
        values = series.columns
        for alias, number, kind, start, windows in reads:
            if kind == "quantile":
                # Read only where the row count says rows matched (query/aggregates.py).
                found = windows.get(labels, _NO_ENDINGS).get(at, _NO_CELLS)
                row[alias] = found.get(number, 0.0)
                continue
            column = values.get(number)
            row[alias] = _combined(kind, [] if column is None else column[start:end])
        data.append(row)
    return Rows((), tuple(data))


def _ceiling(at: int, buckets: _Buckets) -> int:
    """The position of the first bucket starting at or after `at`."""
    return -((buckets.base - at) // buckets.width)


_NO_CELLS: Cells = {}
_NO_ENDINGS: dict[int, Cells] = {}
_NO_WINDOWS: dict[Labels, dict[int, Cells]] = {}


def _combined(kind: str, window: list[float | None]) -> float:
    """A measure over a window, from the values of its buckets (oldest first): a sum is
    0.0 where a bucket had no row, which adds nothing."""
    if kind == "min":
        return min([v for v in window if v is not None], default=_MIN_NEUTRAL)
    if kind == "max":
        return max([v for v in window if v is not None], default=_MAX_NEUTRAL)
    return sum(cast(list[float], window), 0.0)
