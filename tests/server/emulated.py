"""Known traffic in the emulator, and the analytics endpoints served over it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.model import Query, Rows
from alertd.rules.loader import load
from alertd.rules.ruleset import RuleSet
from alertd.sources.analytics_engine import AnalyticsEngineSource

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
DATABASE = "pitchey_database_metrics"
PERFORMANCE = "pitchey_performance_metrics"
ERRORS = "pitchey_error_tracking"


def shipped_rules() -> RuleSet:
    loaded = load([Path(__file__).parents[2] / "rules"])
    assert loaded.errors == []
    return loaded.ruleset


def point(
    before: dt.timedelta, blobs: Sequence[str], doubles: Sequence[float], interval: int
) -> dict[str, object]:
    """One point written `before` AT, standing for `interval` events."""
    return {
        "timestamp": AT - before,
        "indexes": [blobs[0]],
        "blobs": list(blobs),
        "doubles": list(doubles),
        "sample_interval": interval,
    }


MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def write_known_traffic(ae: RunningEmulator) -> None:
    """The traffic the expectations in the tests are computed from by hand.

    The hour before AT (the current window): 8 queries, 40 requests, 6 errors reported.
    The hour before that (the previous window): 1 query, 10 requests, no errors.
    """
    ae.reset()
    ae.write(
        DATABASE,
        [
            # queryType, table, status, errorCode, endpoint, userId; duration, rowCount, ts
            point(
                5 * MINUTE, ["SELECT", "users", "success", "", "/api/users", "u1"], [50, 1, 0], 1
            ),
            point(
                10 * MINUTE, ["SELECT", "users", "success", "", "/api/users", "u2"], [150, 3, 0], 2
            ),
            point(
                20 * MINUTE,
                ["INSERT", "pitches", "error", "23505", "/api/pitches", "u1"],
                [300, 0, 0],
                1,
            ),
            # Exactly one hour before AT: the first instant of the window, so inside it.
            point(HOUR, ["SELECT", "pitches", "success", "", "/api/pitches", "u3"], [20, 9, 0], 4),
            # At AT itself: the window ends before it.
            point(
                dt.timedelta(0),
                ["SELECT", "users", "error", "57P01", "/api/users", "u1"],
                [9000, 0, 0],
                50,
            ),
            # The previous hour.
            point(
                2 * HOUR - MINUTE,
                ["SELECT", "users", "success", "", "/api/users", "u4"],
                [1000, 1, 0],
                1,
            ),
        ],
    )
    ae.write(
        PERFORMANCE,
        [
            # endpoint, method, statusCode, cacheStatus, userId; duration, queryCount, ts
            point(2 * MINUTE, ["/api/pitches", "GET", "200", "HIT", "u1"], [40, 0, 0], 10),
            point(3 * MINUTE, ["/api/pitches", "GET", "200", "MISS", "u2"], [120, 2, 0], 5),
            point(4 * MINUTE, ["/api/pitches", "GET", "503", "DYNAMIC", "u3"], [900, 1, 0], 5),
            point(6 * MINUTE, ["/api/users", "POST", "201", "DYNAMIC", "u4"], [80, 1, 0], 20),
            point(90 * MINUTE, ["/api/pitches", "GET", "200", "HIT", "u1"], [60, 0, 0], 9),
            point(100 * MINUTE, ["/api/pitches", "GET", "200", "MISS", "u1"], [300, 2, 0], 1),
        ],
    )
    ae.write(
        ERRORS,
        [
            # type, source, message, code, endpoint, userId; timestamp, errorCount
            point(
                2 * MINUTE,
                ["api_error", "worker", "Unavailable", "503", "/api/pitches", "u3"],
                [0, 1],
                2,
            ),
            point(
                7 * MINUTE,
                ["db_error", "database", "duplicate key", "23505", "/api/pitches", "u1"],
                [0, 3],
                1,
            ),
            point(
                8 * MINUTE,
                ["api_error", "database", "timeout", "504", "/api/users", "u2"],
                [0, 1],
                1,
            ),
        ],
    )


def emulator_source(
    ae: RunningEmulator, clock: FakeClock, token: str | None = None
) -> AnalyticsEngineSource:
    return AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(token or ae.token), sleep=clock.sleep, retries=1
    )


class CountingSource:
    """A source that counts the queries it passes on: what AE would bill."""

    def __init__(self, inner: AnalyticsEngineSource) -> None:
        self.inner = inner
        self.queries: list[Query] = []

    async def run(self, query: Query) -> Rows:
        self.queries.append(query)
        return await self.inner.run(query)

    async def aclose(self) -> None:
        await self.inner.aclose()
