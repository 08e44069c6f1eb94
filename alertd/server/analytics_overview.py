"""The overview report: a health score from five inputs, each against the previous window.

Each input scores 100 at or better than the platform's optimisation target, 0 at or past
the limit its alert fires at, and in proportion between; the health score is the mean of
the inputs that have a value. Targets and limits are the design document's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import anyio

from alertd.reports.questions import (
    CACHE_HIT,
    DATABASE,
    PERFORMANCE,
    AnalyticsError,
    Answer,
    Asker,
    Question,
    total,
)
from alertd.server.analytics_reports import Report


@dataclass(frozen=True)
class Input:
    """One health input: the question, the target (scores 100) and the limit (scores 0)."""

    name: str
    question: Question
    target: float
    limit: float

    @property
    def higher_is_better(self) -> bool:
        return self.target > self.limit

    def score(self, value: float | None) -> float | None:
        if value is None:
            return None
        share = (value - self.limit) / (self.target - self.limit)
        return 100.0 * min(1.0, max(0.0, share))

    def direction(self, current: float | None, previous: float | None) -> str | None:
        """`better`, `worse` or `same` than the previous window; None without both values."""
        if current is None or previous is None:
            return None
        if current == previous:
            return "same"
        return "better" if (current > previous) == self.higher_is_better else "worse"


INPUTS = (
    Input("api_p95_ms", Question("api_p95_ms", PERFORMANCE, "p95(duration)"), 100, 500),
    Input(
        "error_rate_5xx",
        Question("error_rate_5xx", PERFORMANCE, "ratio(statusCode >= 500)"),
        0.001,
        0.05,
    ),
    Input("cache_hit_rate", Question("cache_hit_rate", PERFORMANCE, CACHE_HIT), 0.95, 0.70),
    Input("query_p95_ms", Question("query_p95_ms", DATABASE, "p95(duration)"), 50, 200),
    Input(
        "failed_query_rate",
        Question("failed_query_rate", DATABASE, 'ratio(status == "error")'),
        0.001,
        0.01,
    ),
)
_VOLUME = (
    Question("requests", PERFORMANCE, "count()"),
    Question("queries", DATABASE, "count()"),
)


def health_score(scores: list[float | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return round(sum(known) / len(known), 1) if known else None


def status(score: float | None) -> str:
    if score is None:
        return "no data"
    if score >= 90:
        return "healthy"
    return "degraded" if score >= 70 else "unhealthy"


async def performance_overview(asker: Asker, window: dt.timedelta, at: dt.datetime) -> Report:
    questions = [i.question for i in INPUTS] + list(_VOLUME)
    found: dict[dt.datetime, dict[str, Answer]] = {}
    failed: list[AnalyticsError] = []

    async def ask(end: dt.datetime) -> None:
        # Kept rather than raised, so the caller sees an AnalyticsError, not a group of them.
        try:
            found[end] = await asker.ask(questions, window, end)
        except AnalyticsError as exc:
            failed.append(exc)

    async with anyio.create_task_group() as tasks:
        for end in (at, at - window):
            tasks.start_soon(ask, end)
    if failed:
        raise failed[0]
    now, before = found[at], found[at - window]
    inputs: dict[str, Any] = {}
    scores, previous_scores = [], []
    for item in INPUTS:
        current, previous = total(now[item.name]), total(before[item.name])
        score, previous_score = item.score(current), item.score(previous)
        scores.append(score)
        previous_scores.append(previous_score)
        inputs[item.name] = {
            "value": current,
            "target": item.target,
            "limit": item.limit,
            "score": None if score is None else round(score, 1),
            "previous": previous,
            "change": None if current is None or previous is None else current - previous,
            "trend": item.direction(current, previous),
        }
    score, previous_score = health_score(scores), health_score(previous_scores)
    volume = {
        q.name: {
            "value": round(total(now[q.name]) or 0),
            "previous": round(total(before[q.name]) or 0),
        }
        for q in _VOLUME
    }
    return {
        "health_score": score,
        "status": status(score),
        "previous_health_score": previous_score,
        "inputs": inputs,
        "volume": volume,
    }
