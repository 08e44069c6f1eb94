"""Pitchey's traffic as AE data points, shaped by a timeline's incidents. Pure.

Each whole second of each dataset draws from its own `random.Random`, seeded from the
seed, the dataset and the second, so a range generated minute by minute is the same data
as the range generated at once. Index values busier than `SAMPLE_ABOVE` events a second
are written sampled, as AE does: one point stands for `sample_interval` events.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from alertd.simulator.timeline import (
    CacheDrop,
    ConnectionErrors,
    CpuSpike,
    EndpointPath,
    ErrorBurst,
    FailedQueries,
    PoolSaturation,
    ScriptName,
    SlowEndpoint,
    SlowTable,
    TableName,
    Timeline,
)

Point = dict[str, Any]
T = TypeVar("T")

DATABASE = "pitchey_database_metrics"
PERFORMANCE = "pitchey_performance_metrics"
ERRORS = "pitchey_error_tracking"
# Worker invocations, which the emulator's GraphQL API aggregates (not an AE dataset).
INVOCATIONS = "workers_invocations"
DATASETS = (DATABASE, PERFORMANCE, ERRORS, INVOCATIONS)

SAMPLE_ABOVE = 10.0  # events a second per index value above which points are sampled
SAMPLED_POINTS_PER_SECOND = 3.0  # what a sampled index value is thinned to
Z99 = 2.3263  # the standard normal's 99th percentile
Z95 = 1.6449  # the standard normal's 95th percentile: P95 = median * exp(Z95 * sigma)
USERS = 5000
LOAD_PERIOD_SECONDS = 900.0  # a gentle wave in traffic, so charts do not look flat


@dataclass(frozen=True)
class Table:
    """A database table: its query rate and healthy latency (log-normal)."""

    rate: float
    median_ms: float
    sigma: float
    endpoints: tuple[EndpointPath, ...]


@dataclass(frozen=True)
class Endpoint:
    """An API endpoint: its request rate, uncached latency, GET share, and cacheability."""

    rate: float
    median_ms: float
    sigma: float
    get_share: float
    cached: bool


TABLES: dict[TableName, Table] = {
    "pitches": Table(24, 28, 0.5, ("/api/pitches", "/api/pitches/:id", "/api/search")),
    "users": Table(5, 22, 0.45, ("/api/users/me", "/api/pitches/:id")),
    "messages": Table(4, 25, 0.5, ("/api/messages",)),
    "ndas": Table(1.5, 40, 0.45, ("/api/ndas",)),
    "follows": Table(2, 18, 0.4, ("/api/users/me", "/api/pitches/:id")),
}
ENDPOINTS: dict[EndpointPath, Endpoint] = {
    "/api/pitches": Endpoint(15, 70, 0.5, 0.9, True),
    "/api/pitches/:id": Endpoint(11, 60, 0.5, 0.95, True),
    "/api/users/me": Endpoint(5, 45, 0.45, 0.85, False),
    "/api/search": Endpoint(4, 110, 0.5, 1.0, False),
    "/api/ndas": Endpoint(1.5, 90, 0.5, 0.6, False),
    "/api/messages": Endpoint(3, 60, 0.5, 0.7, False),
}


@dataclass(frozen=True)
class Script:
    """A Worker script: its invocation rate and healthy CPU time per invocation (log-normal)."""

    rate: float
    p99_ms: float
    sigma: float


SCRIPTS: dict[ScriptName, Script] = {
    "pitchey-api": Script(6, 18, 0.45),
    "pitchey-analytics": Script(2, 9, 0.4),
}
SCRIPT_EXCEPTION_SHARE = 0.001
# Each database's connection pool: its size and its healthy utilisation.
POOLS: dict[str, tuple[int, float]] = {"neon-primary": (20, 0.35), "neon-replica": (10, 0.2)}
HIT_RATE = 0.9
HIT_MEDIAN_MS, HIT_SIGMA = 12.0, 0.4
SHARE_5XX = 0.002
SHARE_4XX = 0.03
VALIDATION_SHARE = 0.004  # requests whose bad input the Worker reports as an error
FAILED_QUERY_SHARE = 0.001
QUERY_TYPES = (("SELECT", 0.8), ("INSERT", 0.1), ("UPDATE", 0.08), ("DELETE", 0.02))
STATUS_4XX = ((400, 0.3), (401, 0.2), (403, 0.05), (404, 0.35), (429, 0.1))
BASELINE_5XX = (500, 502, 503)
BASELINE_PG_ERRORS = ("57014", "40P01", "23505")
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}  # fmt: skip


@dataclass(frozen=True)
class Conditions:
    """How the platform behaves during one second: baseline pulled toward the incidents."""

    load: float
    table_p95: dict[TableName, float]
    failures: dict[TableName, tuple[float, str | None]]  # share, the incident's error code
    miss_p95: dict[EndpointPath, float]
    errors_5xx: dict[EndpointPath, tuple[float, int | None]]  # share, the incident's status
    hit_rate: dict[EndpointPath, float]
    connection_errors: dict[str, float]  # per second, by source
    cpu_p99: dict[ScriptName, float]  # ms, by script
    pool_utilization: dict[str, float]  # share, by database


def generate(
    timeline: Timeline,
    start: dt.datetime,
    end: dt.datetime,
    *,
    origin: dt.datetime,
    seed: int,
    datasets: tuple[str, ...] = DATASETS,
) -> dict[str, list[Point]]:
    """Points of `datasets` (default: all) for the whole seconds in [start, end), incidents
    placed relative to `origin`; the same arguments always give the same points."""
    out: dict[str, list[Point]] = {dataset: [] for dataset in datasets}
    makers = {dataset: _MAKERS[dataset] for dataset in datasets}
    for second in range(math.ceil(start.timestamp()), math.ceil(end.timestamp())):
        now = conditions(timeline, dt.timedelta(seconds=second - origin.timestamp()))
        for dataset, make in makers.items():
            rng = random.Random(f"{seed}:{dataset}:{second}")
            out[dataset].extend(make(rng, second, now))
    return out


def events(points: list[Point]) -> int:
    """How many events the points stand for."""
    return sum(int(p["sample_interval"]) for p in points)


def conditions(timeline: Timeline, offset: dt.timedelta) -> Conditions:
    """The platform's behaviour `offset` after the origin."""
    now = Conditions(
        load=1 + 0.1 * math.sin(2 * math.pi * offset.total_seconds() / LOAD_PERIOD_SECONDS),
        table_p95={name: t.median_ms * math.exp(Z95 * t.sigma) for name, t in TABLES.items()},
        failures={name: (FAILED_QUERY_SHARE, None) for name in TABLES},
        miss_p95={name: e.median_ms * math.exp(Z95 * e.sigma) for name, e in ENDPOINTS.items()},
        errors_5xx={name: (SHARE_5XX, None) for name in ENDPOINTS},
        hit_rate={name: HIT_RATE for name, e in ENDPOINTS.items() if e.cached},
        connection_errors={},
        cpu_p99={name: script.p99_ms for name, script in SCRIPTS.items()},
        pool_utilization={name: share for name, (_, share) in POOLS.items()},
    )
    for incident in timeline.incidents:
        x = incident.intensity(offset)
        if x <= 0:
            continue
        if isinstance(incident, SlowTable):
            now.table_p95[incident.table] = _pull(
                now.table_p95[incident.table], incident.peak_p95_ms, x
            )
        elif isinstance(incident, SlowEndpoint):
            now.miss_p95[incident.endpoint] = _pull(
                now.miss_p95[incident.endpoint], incident.peak_p95_ms, x
            )
        elif isinstance(incident, FailedQueries):
            share = _pull(now.failures[incident.table][0], incident.share, x)
            now.failures[incident.table] = (share, incident.error_code)
        elif isinstance(incident, ErrorBurst):
            share = _pull(now.errors_5xx[incident.endpoint][0], incident.share, x)
            now.errors_5xx[incident.endpoint] = (share, incident.status)
        elif isinstance(incident, CacheDrop):
            for endpoint in now.hit_rate:
                if incident.endpoint in (None, endpoint):
                    now.hit_rate[endpoint] = _pull(now.hit_rate[endpoint], incident.hit_rate, x)
        elif isinstance(incident, ConnectionErrors):
            rate = now.connection_errors.get(incident.source, 0.0)
            now.connection_errors[incident.source] = rate + x * incident.per_minute / 60
        elif isinstance(incident, CpuSpike):
            p99 = now.cpu_p99[incident.script]
            now.cpu_p99[incident.script] = _pull(p99, incident.peak_p99_ms, x)
        elif isinstance(incident, PoolSaturation):
            share = now.pool_utilization.get(incident.database, 0.0)
            now.pool_utilization[incident.database] = _pull(share, incident.peak_utilization, x)
    return now


def _pull(base: float, target: float, intensity: float) -> float:
    return base + intensity * (target - base)


def _queries(rng: random.Random, second: int, now: Conditions) -> Iterator[Point]:
    for name, table in TABLES.items():
        median = now.table_p95[name] / math.exp(Z95 * table.sigma)
        share, code = now.failures[name]
        for interval in _sampled(rng, table.rate * now.load):
            query_type = _weighted(rng, QUERY_TYPES)
            failed = rng.random() < share
            error_code = (code or rng.choice(BASELINE_PG_ERRORS)) if failed else ""
            # A failed query often ran into a timeout: it took longer than a good one.
            duration = rng.lognormvariate(math.log(median * (4 if failed else 1)), table.sigma)
            rows = rng.randrange(1, 50) if query_type == "SELECT" else rng.randrange(0, 2)
            blobs = [query_type, name, "error" if failed else "success", error_code,
                     rng.choice(table.endpoints), _user(rng)]  # fmt: skip
            yield _point(rng, second, name, blobs, [round(duration, 2), float(rows)], interval)


def _requests(rng: random.Random, second: int, now: Conditions) -> Iterator[Point]:
    for path, endpoint in ENDPOINTS.items():
        median = now.miss_p95[path] / math.exp(Z95 * endpoint.sigma)
        share_5xx, burst_status = now.errors_5xx[path]
        for interval in _sampled(rng, endpoint.rate * now.load):
            method = "GET" if rng.random() < endpoint.get_share else "POST"
            status, cache = _status(rng, method, share_5xx, burst_status), "DYNAMIC"
            if status < 400 and method == "GET" and endpoint.cached:
                cache = "HIT" if rng.random() < now.hit_rate[path] else "MISS"
            if cache == "HIT":
                duration, queries = rng.lognormvariate(math.log(HIT_MEDIAN_MS), HIT_SIGMA), 0
            else:
                duration, queries = rng.lognormvariate(math.log(median), endpoint.sigma), 1
                queries += rng.randrange(0, 5)
            blobs = [path, method, str(status), cache, _user(rng)]
            yield _point(rng, second, path, blobs, [round(duration, 2), float(queries)], interval)


def _status(rng: random.Random, method: str, share_5xx: float, burst: int | None) -> int:
    draw = rng.random()
    if draw < share_5xx:
        return burst or rng.choice(BASELINE_5XX)
    if draw < share_5xx + SHARE_4XX:
        return _weighted(rng, STATUS_4XX)
    if method == "POST":
        return 201
    return 304 if rng.random() < 0.03 else 200


def _errors(rng: random.Random, second: int, now: Conditions) -> Iterator[Point]:
    """What the Worker reports: 5xx answers, bad input, failed queries, lost connections."""
    api = {p: e.rate * now.load * now.errors_5xx[p][0] for p, e in ENDPOINTS.items()}
    for interval in _sampled(rng, sum(api.values())):
        path = _weighted(rng, tuple(api.items()))
        status = now.errors_5xx[path][1] or rng.choice(BASELINE_5XX)
        blobs = ["api_error", "worker", REASONS.get(status, "Server Error"), str(status), path,
                 _user(rng)]  # fmt: skip
        yield _error_point(rng, second, blobs, interval)
    requests = sum(e.rate for e in ENDPOINTS.values()) * now.load
    for interval in _sampled(rng, requests * VALIDATION_SHARE):
        path = rng.choice(tuple(ENDPOINTS))
        blobs = ["validation", "api", "invalid request body", "400", path, _user(rng)]
        yield _error_point(rng, second, blobs, interval)
    failing = {t: table.rate * now.load * now.failures[t][0] for t, table in TABLES.items()}
    for interval in _sampled(rng, sum(failing.values())):
        table_name = _weighted(rng, tuple(failing.items()))
        code = now.failures[table_name][1] or rng.choice(BASELINE_PG_ERRORS)
        blobs = ["database_query", "neon", f"query on {table_name} failed", code,
                 rng.choice(TABLES[table_name].endpoints), _user(rng)]  # fmt: skip
        yield _error_point(rng, second, blobs, interval)
    for source, rate in sorted(now.connection_errors.items()):
        for interval in _sampled(rng, rate):
            blobs = ["database_connection", source, "connection refused", "ECONNREFUSED",
                     rng.choice(tuple(ENDPOINTS)), ""]  # fmt: skip
            yield _error_point(rng, second, blobs, interval)


def _invocations(rng: random.Random, second: int, now: Conditions) -> Iterator[Point]:
    """Worker invocations: script, outcome, CPU time in microseconds (as the API counts)."""
    for name, script in SCRIPTS.items():
        median = now.cpu_p99[name] / math.exp(Z99 * script.sigma)
        for _ in range(_poisson(rng, script.rate * now.load)):
            cpu_ms = rng.lognormvariate(math.log(median), script.sigma)
            status = "scriptThrewException" if rng.random() < SCRIPT_EXCEPTION_SHARE else "success"
            yield {
                "timestamp": second * 1000 + rng.randrange(1000),
                "indexes": [name],
                "blobs": [name, status],
                "doubles": [round(cpu_ms * 1000)],
                "sample_interval": 1,
            }


_MAKERS: dict[str, Callable[[random.Random, int, Conditions], Iterator[Point]]] = {
    DATABASE: _queries,
    PERFORMANCE: _requests,
    ERRORS: _errors,
    INVOCATIONS: _invocations,
}


def _sampled(rng: random.Random, rate: float) -> Iterator[int]:
    """The sample intervals of the points one second of `rate` events a second becomes."""
    interval = 1 if rate <= SAMPLE_ABOVE else math.ceil(rate / SAMPLED_POINTS_PER_SECOND)
    for _ in range(_poisson(rng, rate / interval)):
        yield interval


def _point(
    rng: random.Random, second: int, index: str, blobs: list[str], doubles: list[float], n: int
) -> Point:
    epoch_ms = second * 1000 + rng.randrange(1000)
    return {
        "timestamp": epoch_ms,
        "indexes": [index],
        "blobs": blobs,
        "doubles": [*doubles, float(epoch_ms)],
        "sample_interval": n,
    }


def _error_point(rng: random.Random, second: int, blobs: list[str], n: int) -> Point:
    epoch_ms = second * 1000 + rng.randrange(1000)
    return {
        "timestamp": epoch_ms,
        "indexes": [blobs[0]],
        "blobs": blobs,
        "doubles": [float(epoch_ms), 1.0],
        "sample_interval": n,
    }


def _user(rng: random.Random) -> str:
    # A few users make most requests; some requests are anonymous.
    return "" if rng.random() < 0.15 else f"u{int(USERS ** rng.random())}"


def _weighted(rng: random.Random, choices: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
