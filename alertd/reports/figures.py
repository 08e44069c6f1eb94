"""What a performance report says, as values: every figure a rendering shows.

Counts are events (rows weighted by `_sample_interval`), durations milliseconds, rates
ratios between 0 and 1; a figure that cannot be computed (no rows) is None.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any


class Kind(enum.Enum):
    """The design document's daily performance report and weekly trend analysis."""

    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def period(self) -> dt.timedelta:
        return dt.timedelta(days=1 if self is Kind.DAILY else 7)


@dataclass(frozen=True)
class Compared:
    """A figure over the report's period and over the period before it."""

    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """The relative change (0.25 is 25 % up); None without a non-zero previous value."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / self.previous


@dataclass(frozen=True)
class Ranked:
    """One table, endpoint or error category and its figure, as ranked in a list."""

    name: str
    value: float | None
    events: int


@dataclass(frozen=True)
class DatabaseFigures:
    queries: Compared
    p95_ms: Compared
    error_rate: Compared
    slowest_tables: tuple[Ranked, ...]  # value: P95 ms


@dataclass(frozen=True)
class ApiFigures:
    requests: Compared
    p95_ms: Compared
    error_rate: Compared  # 5xx responses among all
    cache_hit_rate: Compared
    slowest_endpoints: tuple[Ranked, ...]  # value: P95 ms


@dataclass(frozen=True)
class ErrorFigures:
    errors: Compared
    top_categories: tuple[Ranked, ...]  # value: share of all errors


@dataclass(frozen=True)
class RuleAlerts:
    """One rule's alerts in the period: how many fired and how long resolving took."""

    rule: str
    fired: int
    resolved: int
    mean_resolve_s: float | None
    longest_resolve_s: float | None


@dataclass(frozen=True)
class AlertFigures:
    fired: int
    resolved: int
    mean_resolve_s: float | None
    by_rule: tuple[RuleAlerts, ...]


@dataclass(frozen=True)
class QuerySpend:
    """AE SQL requests: those this report cost, and those alertd sent this month so far
    (None when the process that built the report has not been running)."""

    report: int
    this_month: int | None


@dataclass(frozen=True)
class Report:
    kind: Kind
    start: dt.datetime
    end: dt.datetime
    database: DatabaseFigures
    api: ApiFigures
    errors: ErrorFigures
    alerts: AlertFigures
    ae_queries: QuerySpend


def as_json(report: Report) -> dict[str, Any]:
    """The report as JSON values: times in ISO 8601 UTC, changes beside their figures."""

    def convert(value: Any) -> Any:
        if isinstance(value, Compared):
            return {"current": value.current, "previous": value.previous, "change": value.change}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [convert(v) for v in value]
        if isinstance(value, Kind):
            return value.value
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return value

    converted: dict[str, Any] = convert(report)
    return converted
