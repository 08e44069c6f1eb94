"""Builds a performance report: AE questions for two periods, and the alert history.

Every AE figure comes through the daemon's planner, compiler and source (`Asker`), so it
is weighted by `_sample_interval` exactly as an alert's value is; questions on the same
dataset and grouping share one statement, so a report costs two statements per dataset
(its totals and its ranking) for each of the two periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from alertd.model import Query, Rows
from alertd.reports.alerts import alert_figures
from alertd.reports.figures import (
    ApiFigures,
    Compared,
    DatabaseFigures,
    ErrorFigures,
    Kind,
    QuerySpend,
    Ranked,
    Report,
)
from alertd.reports.questions import (
    CACHE_HIT,
    DATABASE,
    ERRORS,
    PERFORMANCE,
    Answer,
    Asker,
    Question,
    total,
)
from alertd.rules.schema import Dataset
from alertd.sources.base import Source
from alertd.store.base import AlertStates

TOP = 5

QUESTIONS = (
    Question("db.queries", DATABASE, "count()"),
    Question("db.p95", DATABASE, "p95(duration)"),
    Question("db.errors", DATABASE, 'ratio(status == "error")'),
    Question("db.table.p95", DATABASE, "p95(duration)", ("table",)),
    Question("db.table.queries", DATABASE, "count()", ("table",)),
    Question("api.requests", PERFORMANCE, "count()"),
    Question("api.p95", PERFORMANCE, "p95(duration)"),
    Question("api.errors", PERFORMANCE, "ratio(statusCode >= 500)"),
    Question("api.cache", PERFORMANCE, CACHE_HIT),
    Question("api.endpoint.p95", PERFORMANCE, "p95(duration)", ("endpoint",)),
    Question("api.endpoint.requests", PERFORMANCE, "count()", ("endpoint",)),
    Question("errors", ERRORS, "sum(errorCount)"),
    Question("errors.type", ERRORS, "sum(errorCount)", ("type",)),
)


class _Counted:
    """Passes queries on to a source, counting them: what AE bills for this report."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.queries = 0

    async def run(self, query: Query) -> Rows:
        self.queries += 1
        return await self.inner.run(query)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def build_report(
    source: Source,
    datasets: Mapping[str, Dataset],
    history: AlertStates,
    kind: Kind,
    at: dt.datetime,
    *,
    spent_this_month: int | None = None,
) -> Report:
    """The `kind` report for the period ending at `at`, against the period before it.

    Raises `AnalyticsError` when a dataset is unknown or its query failed.
    """
    counted = _Counted(source)
    asker = Asker(counted, datasets)
    period = kind.period
    now = await asker.ask(QUESTIONS, period, at)
    before = await asker.ask(QUESTIONS, period, at - period)

    def compared(name: str) -> Compared:
        return Compared(total(now[name]), total(before[name]))

    return Report(
        kind=kind,
        start=at - period,
        end=at,
        database=DatabaseFigures(
            queries=compared("db.queries"),
            p95_ms=compared("db.p95"),
            error_rate=compared("db.errors"),
            slowest_tables=_slowest(now["db.table.p95"], now["db.table.queries"], "table"),
        ),
        api=ApiFigures(
            requests=compared("api.requests"),
            p95_ms=compared("api.p95"),
            error_rate=compared("api.errors"),
            cache_hit_rate=compared("api.cache"),
            slowest_endpoints=_slowest(
                now["api.endpoint.p95"], now["api.endpoint.requests"], "endpoint"
            ),
        ),
        errors=ErrorFigures(
            errors=compared("errors"),
            top_categories=_shares(now["errors.type"], total(now["errors"])),
        ),
        alerts=await alert_figures(history, at - period, at),
        ae_queries=QuerySpend(report=counted.queries, this_month=spent_this_month),
    )


def _slowest(p95: Answer, events: Answer, label: str) -> tuple[Ranked, ...]:
    """The TOP series with the highest P95, ties by name."""
    rows = [
        Ranked(dict(labels)[label], value, round(events.get(labels) or 0))
        for labels, value in p95.items()
        if value is not None
    ]
    rows.sort(key=lambda r: (-(r.value or 0.0), r.name))
    return tuple(rows[:TOP])


def _shares(counts: Answer, whole: float | None) -> tuple[Ranked, ...]:
    """The TOP error categories by count, each with its share of all errors."""
    rows = [
        Ranked(dict(labels)["type"], value / whole if whole else None, round(value))
        for labels, value in counts.items()
        if value
    ]
    rows.sort(key=lambda r: (-r.events, r.name))
    return tuple(rows[:TOP])
