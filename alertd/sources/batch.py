"""Run every query of a plan against its source, concurrently, keeping each failure.

SQL statements go to the AE source. Statements on a declared record source are answered
from one fetch of that source per plan, shared by every statement and rule on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import anyio

from alertd.errors import SourceError
from alertd.model import Rows
from alertd.query.plan import Plan, PlannedQuery
from alertd.query.records import answer
from alertd.sources.base import RecordSource, Source


async def run_plan(
    plan: Plan, source: Source, records: Mapping[str, RecordSource] | None = None
) -> dict[PlannedQuery, Rows | SourceError]:
    """Each planned query's rows, or the SourceError it ended with.

    The source bounds how many run at once.
    """
    answers: dict[PlannedQuery, Rows | SourceError] = {}
    on_records: dict[str, list[PlannedQuery]] = {}
    for planned in plan.queries:
        if records and planned.key.dataset in records:
            on_records.setdefault(planned.key.dataset, []).append(planned)

    async def one(planned: PlannedQuery) -> None:
        try:
            answers[planned] = await source.run(planned.query)
        except SourceError as exc:
            answers[planned] = exc

    async def fetched(record_source: RecordSource, queries: list[PlannedQuery]) -> None:
        seconds = max(m.window_seconds for q in queries for m in q.measures)
        since = plan.at - dt.timedelta(seconds=seconds)
        try:
            found = await record_source.fetch(since, plan.at)
        except SourceError as exc:
            answers.update(dict.fromkeys(queries, exc))
            return
        for planned in queries:
            answers[planned] = answer(planned, found)

    if len(plan.queries) == 1 and not on_records:
        await one(plan.queries[0])  # nothing to run beside it: no task group to build
        return answers
    async with anyio.create_task_group() as tasks:
        for planned in plan.queries:
            if planned.key.dataset not in on_records:
                tasks.start_soon(one, planned)
        for name, queries in on_records.items():
            assert records is not None
            tasks.start_soon(fetched, records[name], queries)
    return answers
