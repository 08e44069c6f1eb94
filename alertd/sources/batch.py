"""Run every query of a plan against a source, concurrently, keeping each failure."""

from __future__ import annotations

import anyio

from alertd.errors import SourceError
from alertd.model import Rows
from alertd.query.plan import Plan, PlannedQuery
from alertd.sources.base import Source


async def run_plan(plan: Plan, source: Source) -> dict[PlannedQuery, Rows | SourceError]:
    """Each planned query's rows, or the SourceError it ended with.

    The source bounds how many run at once.
    """
    answers: dict[PlannedQuery, Rows | SourceError] = {}

    async def one(planned: PlannedQuery) -> None:
        try:
            answers[planned] = await source.run(planned.query)
        except SourceError as exc:
            answers[planned] = exc

    async with anyio.create_task_group() as tasks:
        for planned in plan.queries:
            tasks.start_soon(one, planned)
    return answers
