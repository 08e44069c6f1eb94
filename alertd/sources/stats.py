"""Counts of what a source sent and got, per dataset, for the daemon's metrics."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable


@dataclasses.dataclass
class DatasetStats:
    """What one dataset's queries cost; every count only grows, as a metric counter does.

    `attempts` counts HTTP requests (each is billed); `queries` the queries asked, of which
    `failed` gave up and `retried` needed more than one attempt.
    """

    queries: int = 0
    attempts: int = 0
    retried: int = 0
    failed: int = 0
    sql_bytes: int = 0
    rows_read: int = 0
    # Attempts by calendar month (UTC, "2026-12"): what AE bills this month.
    attempts_by_month: Counter[str] = dataclasses.field(default_factory=Counter)


class SourceStats:
    """Per-dataset counters, told of each query and attempt by the source."""

    def __init__(self, now: Callable[[], dt.datetime] | None = None) -> None:
        self._now = now
        self.datasets: dict[str, DatasetStats] = {}

    def of(self, dataset: str) -> DatasetStats:
        return self.datasets.setdefault(dataset, DatasetStats())

    def attempted(self, dataset: str, sql_bytes: int) -> None:
        stats = self.of(dataset)
        stats.attempts += 1
        stats.sql_bytes += sql_bytes
        if self._now is not None:
            stats.attempts_by_month[month(self._now())] += 1

    def billed_this_month(self, dataset: str, now: dt.datetime) -> int:
        return self.of(dataset).attempts_by_month[month(now)]


def month(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m")
