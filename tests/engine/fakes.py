"""A Source that answers from a table the test sets, for evaluator tests without AE."""

from __future__ import annotations

import re

import anyio

from alertd.errors import SourceError
from alertd.model import Column, Query, Rows

_ALIAS = re.compile(r"\bAS (\w+)")
_GROUP_BY = re.compile(r"^GROUP BY (.+)$", re.MULTILINE)


class TableSource:
    """Answers each query of a dataset with one row per series in `series[dataset]`.

    A series maps its group-by value ("" without `by`) to a number that every measure
    of the row takes: raw rows and weighted events alike, so `count()` reads it back.
    `errors[dataset]` makes that dataset's queries fail; `gate`, while set to an unset
    event, holds every answer until the event is set.
    """

    def __init__(self) -> None:
        self.series: dict[str, dict[str, int]] = {}
        self.errors: dict[str, SourceError] = {}
        self.gate: anyio.Event | None = None
        self.asked = anyio.Event()

    async def run(self, query: Query) -> Rows:
        self.asked.set()
        if self.gate is not None:
            await self.gate.wait()
        error = self.errors.get(query.dataset)
        if error is not None:
            raise error
        return _rows(query.sql, self.series.get(query.dataset, {}))

    async def aclose(self) -> None:
        return None


def _rows(sql: str, series: dict[str, int]) -> Rows:
    aliases = _ALIAS.findall(sql)
    grouped = _GROUP_BY.search(sql)
    labels = [a.strip() for a in grouped.group(1).split(",")] if grouped else []
    measures = [a for a in aliases if a not in labels]
    data = tuple(
        {**{label: key for label in labels}, **{m: float(count) for m in measures}}
        for key, count in series.items()
    )
    return Rows(tuple(Column(a, "Float64") for a in aliases), data)
