"""Range planning: the statements that answer every tick of a time range at once.

A tick's plan scans each window once per tick; over a day at 30 s steps that is thousands
of statements reading the same rows again and again. A range plan reads each row a few
times per range instead:

- counts, sums, minima and maxima are decomposable: one statement per (dataset, grouping)
  groups them by series and by time bucket (`intDiv(toUInt32(timestamp), width)`, the width
  dividing every step and window), and each tick's window is combined from its buckets on
  our side;
- a quantile is not: one statement per grid offset `o` groups by
  `intDiv(toUInt32(timestamp) - o, window)`, so each yields the quantile of every window
  ending on that offset; where the window and step share no grid, one statement carries
  many instants as columns, each weighted by `if(<inside its window>, 1, 0)`.

AE documents neither arrayJoin, UNION, JOIN nor -If combinators on quantiles, so these are
all plain GROUP BY statements built by the same compiler as a tick's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alertd.model import Query
from alertd.query import sql
from alertd.query.evidence import rule_measures
from alertd.query.measures import TIMESTAMP, Measure
from alertd.query.plan import (
    BUCKET,
    EPOCH,
    MAX_SQL_BYTES,
    Batch,
    BatchKey,
    StatementTemplate,
    batch_key,
)
from alertd.rules.ruleset import Rule
from alertd.rules.schema import Dataset


@dataclass(frozen=True)
class Timed:
    """A rule and how often it is judged, in whole seconds."""

    rule: Rule
    step: int


def stripped(measure: Measure) -> Measure:
    """A measure without its window: what a range statement computes per bucket."""
    return dataclasses.replace(measure, window_seconds=0, ending=None)


@dataclass(frozen=True, eq=False)
class RangeStatement:
    """One statement of a range plan, and how to read its rows back (hashed by identity).

    Each row is one series in one bucket of `width` seconds starting at
    `_bucket * width + offset`. `lookback` is how far before a chunk's first tick it reads.
    """

    key: BatchKey
    template: StatementTemplate
    width: int
    offset: int
    lookback: int
    quantile: bool

    def query(self, first: dt.datetime, last: dt.datetime) -> Query:
        """The statement for the ticks from `first` to `last`."""
        text = self.template.text.fill(first - dt.timedelta(seconds=self.lookback), last)
        return _query(self.template, text, bucketed=True)

    def bucket_start(self, bucket: int) -> int:
        return bucket * self.width + self.offset


@dataclass(frozen=True)
class InstantFamily:
    """Quantiles whose window shares no grid with the step: planned per chunk, with the
    chunk's instants as columns."""

    key: BatchKey
    window: int
    measures: tuple[Measure, ...]  # stripped
    rule_names: tuple[str, ...]


@dataclass(frozen=True)
class RangePlan:
    statements: tuple[RangeStatement, ...]
    families: tuple[InstantFamily, ...]
    datasets: Mapping[str, Dataset]
    max_sql_bytes: int

    def instant_statements(
        self, family: InstantFamily, endings: Sequence[int]
    ) -> list[tuple[StatementTemplate, dict[Measure, tuple[Measure, int]]]]:
        """Statements giving `family`'s quantiles for windows ending at each of `endings`
        (epoch seconds), with each column's (stripped measure, ending)."""
        measures: dict[Measure, tuple[Measure, int]] = {}
        for ending in endings:
            for measure in family.measures:
                timed = dataclasses.replace(measure, window_seconds=family.window, ending=ending)
                measures[timed] = (measure, ending)
        batch = Batch(
            family.key, list(measures), family.rule_names, self.datasets[family.key.dataset]
        )
        return [(s, measures) for s in batch.compile(self.max_sql_bytes)]


def range_plan(
    timed: Iterable[Timed], datasets: Mapping[str, Dataset], max_sql_bytes: int = MAX_SQL_BYTES
) -> RangePlan:
    """Every statement a range backtest of `timed` needs per chunk."""
    decomposable: dict[BatchKey, dict[Measure, None]] = {}
    widths: dict[BatchKey, list[int]] = {}
    lookbacks: dict[BatchKey, int] = {}
    quantiles: dict[tuple[BatchKey, int], dict[Measure, None]] = {}
    quantile_steps: dict[tuple[BatchKey, int], set[int]] = {}
    members: dict[BatchKey, dict[str, None]] = {}
    for item in timed:
        rule = item.rule
        window = int(rule.window.total_seconds())
        for bound in rule.aggregates:
            key = batch_key(rule, bound.dataset)
            members.setdefault(key, {})[rule.name] = None
            widths.setdefault(key, []).extend((item.step, window))
            lookbacks[key] = max(lookbacks.get(key, 0), window)
            for measure in rule_measures(rule, bound, window):
                if measure.kind == "quantile":
                    quantiles.setdefault((key, window), {})[stripped(measure)] = None
                    quantile_steps.setdefault((key, window), set()).add(item.step)
                else:
                    decomposable.setdefault(key, {})[stripped(measure)] = None
    statements: list[RangeStatement] = []
    families: list[InstantFamily] = []
    for key, found in decomposable.items():
        width = math.gcd(*widths[key])
        dataset = datasets[key.dataset]
        batch = Batch(key, list(found), tuple(members[key]), dataset, bucket=_bucket(0, width))
        for template in batch.compile(max_sql_bytes):
            statements.append(RangeStatement(key, template, width, 0, lookbacks[key], False))
    for (key, window), found in quantiles.items():
        steps = quantile_steps[(key, window)]
        if not all(window % s == 0 or s % window == 0 for s in steps):
            families.append(InstantFamily(key, window, tuple(found), tuple(members[key])))
            continue
        grid = math.gcd(window, *steps)
        dataset = datasets[key.dataset]
        for offset in range(0, window, grid):
            bucket = _bucket(offset, window)
            batch = Batch(key, list(found), tuple(members[key]), dataset, bucket=bucket)
            for template in batch.compile(max_sql_bytes):
                statements.append(RangeStatement(key, template, window, offset, window, True))
    return RangePlan(tuple(statements), tuple(families), datasets, max_sql_bytes)


def _bucket(offset: int, width: int) -> sql.Expr:
    seconds: sql.Expr = sql.Call("toUInt32", (TIMESTAMP,))
    if offset:
        seconds = sql.Binary("-", seconds, sql.Num(offset))
    return sql.Call("intDiv", (seconds, sql.Num(width)))


def _query(template: StatementTemplate, text: str, *, bucketed: bool) -> Query:
    return Query(
        text,
        template.key.dataset,
        template.rule_names,
        labels=(*template.labels, *((BUCKET,) if bucketed else ())),
        measures=tuple(template.measures.values()),
    )


def instant_query(template: StatementTemplate, window: int, endings: Sequence[int]) -> Query:
    """An instants statement, reading from the window before its first ending to its last."""
    start = EPOCH + dt.timedelta(seconds=min(endings) - window)
    end = EPOCH + dt.timedelta(seconds=max(endings))
    return _query(template, template.text.fill(start, end), bucketed=False)
