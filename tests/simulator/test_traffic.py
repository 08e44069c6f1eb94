from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest
import yaml

from alertd.emulator.points import parse_points
from alertd.simulator.timeline import (
    CachedEndpoint,
    EndpointPath,
    TableName,
    Timeline,
    parse_timeline,
)
from alertd.simulator.traffic import (
    DATABASE,
    DATASETS,
    ENDPOINTS,
    ERRORS,
    INVOCATIONS,
    PERFORMANCE,
    TABLES,
    Point,
    events,
    generate,
)

ORIGIN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
QUIET = Timeline()
SLOW_USERS = parse_timeline(
    "incidents: [{kind: slow_table, table: users, from: 2m, to: 12m, peak_p95_ms: 320}]"
)
RULES = Path(__file__).parents[2] / "rules"


def at(minutes: float) -> dt.datetime:
    return ORIGIN + minutes * MINUTE


def between(points: list[Point], start: float, end: float) -> list[Point]:
    low, high = at(start).timestamp() * 1000, at(end).timestamp() * 1000
    return [p for p in points if low <= p["timestamp"] < high]


def weighted_p95(points: list[Point]) -> float:
    """The first value whose cumulative weight reaches 95 %, as quantileExactWeighted."""
    ordered = sorted((p["doubles"][0], p["sample_interval"]) for p in points)
    needed, seen = 0.95 * sum(w for _, w in ordered), 0
    for value, weight in ordered:
        seen += weight
        if seen >= needed:
            return float(value)
    raise AssertionError("no points")


def share(points: list[Point], condition: Callable[[Point], bool]) -> float:
    return sum(int(p["sample_interval"]) for p in points if condition(p)) / events(points)


def test_the_same_seed_gives_the_same_points_and_another_seed_others() -> None:
    first = generate(SLOW_USERS, at(0), at(2), origin=ORIGIN, seed=7)
    assert first == generate(SLOW_USERS, at(0), at(2), origin=ORIGIN, seed=7)
    assert first != generate(SLOW_USERS, at(0), at(2), origin=ORIGIN, seed=8)


def test_a_range_written_in_chunks_is_the_range_written_at_once() -> None:
    whole = generate(SLOW_USERS, at(1), at(4), origin=ORIGIN, seed=7)
    bounds = [at(1), at(1.5) + dt.timedelta(milliseconds=300), at(2), at(3.9), at(4)]
    pieces: dict[str, list[Point]] = {dataset: [] for dataset in DATASETS}
    for start, end in itertools.pairwise(bounds):
        for dataset, points in generate(SLOW_USERS, start, end, origin=ORIGIN, seed=7).items():
            pieces[dataset].extend(points)
    assert pieces == whole


def test_points_carry_the_columns_of_their_dataset_schema() -> None:
    schemas = yaml.safe_load((RULES / "datasets.yaml").read_text())["datasets"]
    generated = generate(QUIET, at(0), at(1), origin=ORIGIN, seed=7)
    for dataset, points in generated.items():
        if dataset == INVOCATIONS:
            continue  # the GraphQL API's data, not an AE dataset
        schema = schemas[dataset]
        blob_of = {name: i for i, name in enumerate(schema["blobs"])}
        assert points, dataset
        for point in points:
            assert len(point["blobs"]) == len(schema["blobs"])
            assert len(point["doubles"]) == len(schema["doubles"])
            assert point["indexes"] == [point["blobs"][blob_of[schema["index"]]]]
            assert point["doubles"][schema["doubles"].index("timestamp")] == point["timestamp"]
    for point in generated[PERFORMANCE]:
        assert point["blobs"][2].isdigit()  # statusCode is a numeric blob


def test_the_emulator_accepts_every_point() -> None:
    generated = generate(SLOW_USERS, at(5), at(6), origin=ORIGIN, seed=7)
    for points in generated.values():
        batch = parse_points(json.dumps(points).encode(), ORIGIN)
        assert (len(batch.points), batch.dropped) == (len(points), 0)


def test_busy_index_values_are_sampled_and_quiet_ones_are_not() -> None:
    generated = generate(QUIET, at(0), at(2), origin=ORIGIN, seed=7)

    def intervals(dataset: str, index: str) -> set[int]:
        return {p["sample_interval"] for p in generated[dataset] if p["indexes"] == [index]}

    assert min(intervals(DATABASE, "pitches")) > 1
    assert min(intervals(PERFORMANCE, "/api/pitches")) > 1
    assert intervals(DATABASE, "ndas") == {1}
    assert intervals(PERFORMANCE, "/api/ndas") == {1}
    assert intervals(ERRORS, "validation") == {1}


def test_weighted_counts_follow_the_configured_rates() -> None:
    generated = generate(QUIET, at(0), at(15), origin=ORIGIN, seed=7)
    for dataset, rates in ((DATABASE, TABLES), (PERFORMANCE, ENDPOINTS)):
        for name, profile in rates.items():
            counted = events([p for p in generated[dataset] if p["indexes"] == [name]])
            # The traffic's gentle wave has a period of 15 minutes, so it averages out here.
            expected = profile.rate * 15 * 60
            # Points arrive as a Poisson process, each standing for up to 8 events.
            assert abs(counted - expected) < 4 * math.sqrt(8 * expected), name


def test_half_an_hour_of_traffic_stays_small() -> None:
    generated = generate(QUIET, at(0), at(30), origin=ORIGIN, seed=7)
    assert 30_000 < sum(len(points) for points in generated.values()) < 100_000


def test_incident_names_match_the_tables_and_endpoints_that_have_traffic() -> None:
    assert set(get_args(TableName)) == set(TABLES)
    assert set(get_args(EndpointPath)) == set(ENDPOINTS)
    assert set(get_args(CachedEndpoint)) == {p for p, e in ENDPOINTS.items() if e.cached}


def users_success(points: list[Point]) -> list[Point]:
    return [p for p in points if p["blobs"][1] == "users" and p["blobs"][2] == "success"]


def test_a_slow_table_peaks_above_critical_and_is_healthy_outside_its_incident() -> None:
    queries = users_success(generate(SLOW_USERS, at(0), at(14), origin=ORIGIN, seed=7)[DATABASE])
    assert weighted_p95(between(queries, 0, 2)) < 150
    assert weighted_p95(between(queries, 6, 8)) > 200
    assert weighted_p95(between(queries, 6, 8)) == pytest.approx(320, rel=0.1)
    assert weighted_p95(between(queries, 12, 14)) < 150


def test_a_slow_table_ramps_up_from_its_baseline_to_its_peak() -> None:
    queries = users_success(generate(SLOW_USERS, at(2), at(6), origin=ORIGIN, seed=7)[DATABASE])
    by_minute = [weighted_p95(between(queries, m, m + 1)) for m in (2, 3, 4, 5)]
    assert by_minute == sorted(by_minute)
    assert by_minute[0] < 150 < 200 < by_minute[-1]


def test_incidents_are_placed_relative_to_the_origin() -> None:
    later = ORIGIN + 20 * MINUTE
    same_range = generate(SLOW_USERS, at(6), at(8), origin=later, seed=7)[DATABASE]
    assert weighted_p95(users_success(same_range)) < 150


def test_an_error_burst_fails_its_share_of_requests_and_reports_them() -> None:
    burst = parse_timeline(
        "incidents: [{kind: error_burst, endpoint: /api/pitches, from: 1m, to: 7m, "
        "share: 20%, status: 502, ramp: 0s}]"
    )
    generated = generate(burst, at(0), at(8), origin=ORIGIN, seed=7)
    requests = [p for p in generated[PERFORMANCE] if p["blobs"][0] == "/api/pitches"]

    def failed(p: Point) -> bool:
        return int(p["blobs"][2]) >= 500

    assert 0.17 < share(between(requests, 1, 7), failed) < 0.23
    assert share(between(requests, 0, 1) + between(requests, 7, 8), failed) < 0.02
    assert {p["blobs"][2] for p in between(requests, 1, 7) if failed(p)} == {"502"}
    reported = [p for p in between(generated[ERRORS], 1, 7) if p["blobs"][0] == "api_error"]
    assert events(reported) == pytest.approx(events(between(requests, 1, 7)) * 0.2, rel=0.15)


def test_a_cache_drop_lowers_the_hit_rate() -> None:
    drop = parse_timeline("incidents: [{kind: cache_drop, from: 2m, to: 8m, hit_rate: 0.4}]")
    requests = generate(drop, at(0), at(10), origin=ORIGIN, seed=7)[PERFORMANCE]
    cached = [p for p in requests if p["blobs"][3] in ("HIT", "MISS")]

    def hit(p: Point) -> bool:
        return bool(p["blobs"][3] == "HIT")

    assert share(between(cached, 0, 2), hit) > 0.85
    assert 0.35 < share(between(cached, 4, 6), hit) < 0.45


def test_a_cache_drop_on_one_endpoint_leaves_the_others_cached() -> None:
    drop = parse_timeline(
        "incidents: [{kind: cache_drop, endpoint: /api/pitches/:id, from: 1m, to: 9m, "
        "hit_rate: 0.2, ramp: 0s}]"
    )
    requests = between(generate(drop, at(0), at(10), origin=ORIGIN, seed=7)[PERFORMANCE], 1, 9)

    def hit_rate(path: str) -> float:
        cached = [p for p in requests if p["blobs"][0] == path and p["blobs"][3] != "DYNAMIC"]
        return share(cached, lambda p: bool(p["blobs"][3] == "HIT"))

    assert 0.15 < hit_rate("/api/pitches/:id") < 0.25
    assert hit_rate("/api/pitches") > 0.85


def test_connection_errors_arrive_at_their_rate_from_their_source() -> None:
    errors = parse_timeline(
        "incidents: [{kind: connection_errors, source: hyperdrive, from: 2m, to: 12m, "
        "per_minute: 6, ramp: 0s}]"
    )
    rows = generate(errors, at(0), at(14), origin=ORIGIN, seed=7)[ERRORS]
    lost = [p for p in rows if p["indexes"] == ["database_connection"]]
    assert 35 < events(between(lost, 2, 12)) < 85
    assert between(lost, 0, 2) == between(lost, 12, 14) == []
    assert {p["blobs"][1] for p in lost} == {"hyperdrive"}
    assert {p["doubles"][1] for p in lost} == {1.0}  # errorCount


def test_failed_queries_fail_their_share_of_a_table_with_their_code() -> None:
    failing = parse_timeline(
        "incidents: [{kind: failed_queries, table: messages, from: 1m, to: 9m, share: 6%, "
        "error_code: '53300', ramp: 0s}]"
    )
    queries = generate(failing, at(0), at(10), origin=ORIGIN, seed=7)[DATABASE]
    messages = [p for p in queries if p["blobs"][1] == "messages"]

    def failed(p: Point) -> bool:
        return bool(p["blobs"][2] == "error")

    assert 0.045 < share(between(messages, 1, 9), failed) < 0.075
    assert {p["blobs"][3] for p in between(messages, 1, 9) if failed(p)} == {"53300"}
    others = [p for p in between(queries, 1, 9) if p["blobs"][1] != "messages"]
    assert share(others, failed) < 0.005


def test_a_slow_endpoint_raises_its_p95_and_no_other() -> None:
    slow = parse_timeline(
        "incidents: [{kind: slow_endpoint, endpoint: /api/search, from: 1m, to: 9m, "
        "peak_p95_ms: 650, ramp: 0s}]"
    )
    requests = between(generate(slow, at(0), at(10), origin=ORIGIN, seed=7)[PERFORMANCE], 1, 9)
    search = [p for p in requests if p["blobs"][0] == "/api/search"]
    assert weighted_p95(search) == pytest.approx(650, rel=0.1)
    assert weighted_p95([p for p in requests if p["blobs"][0] == "/api/ndas"]) < 350
