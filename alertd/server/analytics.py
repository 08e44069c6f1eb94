"""The platform's analytics endpoints (`/api/analytics/...`), served from the AE datasets.

Every number comes through the daemon's planner, compiler and source, so it is weighted by
AE's sampling exactly as alerts are. Answers are kept for a short time per endpoint and
window: AE bills each query, and a dashboard open on many screens should cost one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alertd.clock import Clock
from alertd.reports.questions import AnalyticsError, Asker
from alertd.rules.durations import parse_duration
from alertd.rules.schema import Dataset
from alertd.server.analytics_overview import performance_overview
from alertd.server.analytics_reports import (
    Report,
    ReportFunction,
    database_errors,
    database_health,
    database_performance,
    database_queries,
    database_slow_queries,
    performance_endpoints,
)
from alertd.server.ttl_cache import TtlCache
from alertd.sources.base import Source

DEFAULT_WINDOW = "1h"
# AE keeps three months of data; a longer window could only repeat the same answer.
LONGEST_WINDOW = dt.timedelta(days=90)
CACHE_TTL = dt.timedelta(seconds=30)

REPORTS: Mapping[str, ReportFunction] = {
    "/api/analytics/database/performance": database_performance,
    "/api/analytics/database/queries": database_queries,
    "/api/analytics/database/health": database_health,
    "/api/analytics/database/slow-queries": database_slow_queries,
    "/api/analytics/database/errors": database_errors,
    "/api/analytics/performance/endpoints": performance_endpoints,
    "/api/analytics/performance/overview": performance_overview,
}


class WindowError(ValueError):
    """The `window` query parameter is not a usable duration."""


def parse_window(text: str) -> dt.timedelta:
    """`?window=` as a duration of whole seconds, at least 1 s and at most 90 days."""
    try:
        window = parse_duration(text, LONGEST_WINDOW)
    except ValueError as exc:
        raise WindowError(f"window {text!r}: {exc}") from None
    if window < dt.timedelta(seconds=1) or window % dt.timedelta(seconds=1):
        raise WindowError(f"window {text!r}: give whole seconds, at least 1s (e.g. 15m, 1h)")
    return window


def analytics_routes(
    *,
    source: Source,
    datasets: Mapping[str, Dataset],
    clock: Clock,
    cache_ttl: dt.timedelta = CACHE_TTL,
) -> list[Route]:
    """The analytics endpoints, answering from `source` for the windows ending now."""
    asker = Asker(source, datasets)
    cache: TtlCache[Report] = TtlCache(clock, cache_ttl)
    headers = {"Cache-Control": f"max-age={int(cache_ttl.total_seconds())}"}

    def endpoint(path: str, report: ReportFunction) -> Route:
        async def answer(request: Request) -> JSONResponse:
            text = request.query_params.get("window", DEFAULT_WINDOW)
            try:
                window = parse_window(text)
            except WindowError as exc:
                return JSONResponse({"message": str(exc)}, status_code=400)

            async def compute() -> Report:
                at = clock.now().replace(microsecond=0)
                body = await report(asker, window, at)
                return {"from": _iso(at - window), "to": _iso(at), **body}

            try:
                body = await cache.get((path, window), compute)
            except AnalyticsError as exc:
                return JSONResponse({"message": str(exc)}, status_code=502)
            return JSONResponse({"window": text, **body}, headers=headers)

        return Route(path, answer, methods=["GET"])

    return [endpoint(path, report) for path, report in REPORTS.items()]


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
