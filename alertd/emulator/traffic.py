"""Sample Pitchey traffic for the three datasets, with incidents, as AE data points.

Deterministic for a given seed. Busy index values are written sampled (one point stands
for `sample_interval` events), as AE does, so everything downstream must weight correctly.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Point = dict[str, Any]

TABLES = {"users": 4, "pitches": 40, "ndas": 2, "messages": 6}  # events per second
ENDPOINTS = {"/api/pitches": 30, "/api/users/me": 10, "/api/ndas": 3, "/api/search": 8}
QUERY_TYPES = ("SELECT", "SELECT", "SELECT", "INSERT", "UPDATE")
SAMPLE_ABOVE = 10  # events per second per index value above which points are sampled


@dataclass(frozen=True)
class Incidents:
    """What goes wrong, from `since` on."""

    since: dt.datetime
    slow_table: str = "users"
    failing_endpoint: str = "/api/pitches"
    failing_share: float = 0.12
    cache_hit: float = 0.6
    connection_errors_per_minute: int = 4


def traffic(
    start: dt.datetime, end: dt.datetime, incidents: Incidents, seed: int = 7
) -> dict[str, list[Point]]:
    """Data points for [start, end), one second at a time."""
    rng = random.Random(seed)
    out: dict[str, list[Point]] = {
        "pitchey_database_metrics": [],
        "pitchey_performance_metrics": [],
        "pitchey_error_tracking": [],
    }
    second = start
    while second < end:
        bad = second >= incidents.since
        out["pitchey_database_metrics"].extend(_queries(rng, second, bad, incidents))
        out["pitchey_performance_metrics"].extend(_requests(rng, second, bad, incidents))
        out["pitchey_error_tracking"].extend(_errors(rng, second, bad, incidents))
        second += dt.timedelta(seconds=1)
    return out


def _sampled(rng: random.Random, rate: int) -> Iterator[int]:
    """Sample intervals of the points one second of `rate` events becomes."""
    interval = 10 if rate > SAMPLE_ABOVE else 1
    events = _poisson(rng, rate)
    for _ in range(
        events // interval + (1 if rng.random() < (events % interval) / interval else 0)
    ):
        yield interval


def _queries(rng: random.Random, at: dt.datetime, bad: bool, inc: Incidents) -> Iterator[Point]:
    for table, rate in TABLES.items():
        median = 180.0 if bad and table == inc.slow_table else 35.0
        for interval in _sampled(rng, rate):
            failed = rng.random() < 0.004
            yield _point(
                at + dt.timedelta(milliseconds=rng.randrange(1000)),
                table,
                [
                    rng.choice(QUERY_TYPES),
                    table,
                    "error" if failed else "success",
                    "57014" if failed else "",
                    "/api/" + table,
                    f"u{rng.randrange(500)}",
                ],
                [rng.lognormvariate(math.log(median), 0.45), float(rng.randrange(1, 50))],
                interval,
            )


def _requests(rng: random.Random, at: dt.datetime, bad: bool, inc: Incidents) -> Iterator[Point]:
    for endpoint, rate in ENDPOINTS.items():
        fail_share = inc.failing_share if bad and endpoint == inc.failing_endpoint else 0.005
        hit_share = inc.cache_hit if bad else 0.9
        for interval in _sampled(rng, rate):
            status = 503 if rng.random() < fail_share else (404 if rng.random() < 0.02 else 200)
            yield _point(
                at + dt.timedelta(milliseconds=rng.randrange(1000)),
                endpoint,
                [
                    endpoint,
                    "GET",
                    str(status),
                    "HIT" if rng.random() < hit_share else "MISS",
                    f"u{rng.randrange(500)}",
                ],
                [rng.lognormvariate(math.log(90.0), 0.5), float(rng.randrange(0, 6))],
                interval,
            )


def _errors(rng: random.Random, at: dt.datetime, bad: bool, inc: Incidents) -> Iterator[Point]:
    if bad and rng.random() < inc.connection_errors_per_minute / 60:
        yield _point(
            at,
            "database_connection",
            [
                "database_connection",
                "neon-pool",
                "connection refused",
                "ECONNREFUSED",
                "/api/pitches",
                "",
            ],
            [],
            1,
            error_count=1.0,
        )
    if rng.random() < 0.05:
        yield _point(
            at,
            "validation",
            ["validation", "api", "bad input", "400", "/api/search", ""],
            [],
            1,
            error_count=1.0,
        )


def _point(
    at: dt.datetime,
    index: str,
    blobs: list[str],
    doubles: list[float],
    interval: int,
    error_count: float | None = None,
) -> Point:
    epoch_ms = at.timestamp() * 1000
    values = [epoch_ms, error_count] if error_count is not None else [*doubles, epoch_ms]
    return {
        "timestamp": int(epoch_ms),
        "indexes": [index],
        "blobs": blobs,
        "doubles": values,
        "sample_interval": interval,
    }


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
