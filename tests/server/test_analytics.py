"""The analytics endpoints against the emulator, checked against hand-computed numbers.

Every expectation below is worked out from `write_known_traffic`: each row stands for its
`sample_interval` events, so counts, means, rates and quantiles are weighted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.server.analytics import analytics_routes
from tests.server.emulated import (
    AT,
    CountingSource,
    emulator_source,
    shipped_rules,
    write_known_traffic,
)

pytestmark = pytest.mark.anyio
HOUR_SECONDS = 3600


@pytest.fixture(scope="module")
def traffic(ae: RunningEmulator) -> Iterator[None]:
    """The known traffic for this module's tests; the emulator is left empty after them."""
    write_known_traffic(ae)
    yield
    ae.reset()


class Served:
    def __init__(self, client: httpx.AsyncClient, source: CountingSource, clock: FakeClock) -> None:
        self.client = client
        self.source = source
        self.clock = clock

    async def get(self, path: str, status: int = 200) -> Any:
        response = await self.client.get(path)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
async def served(ae: RunningEmulator, traffic: None) -> AsyncIterator[Served]:
    clock = FakeClock(AT)
    source = CountingSource(emulator_source(ae, clock))
    routes = analytics_routes(source=source, datasets=shipped_rules().datasets, clock=clock)
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://status") as client:
        yield Served(client, source, clock)
    await source.aclose()


async def test_database_performance_weights_rows_by_their_sample_interval(served: Served) -> None:
    body = await served.get("/api/analytics/database/performance")
    assert body["window"] == "1h"
    assert body["from"] == "2026-11-28T09:00:00Z"
    assert body["to"] == "2026-11-28T10:00:00Z"
    # Durations 50×1, 150×2, 300×1, 20×4: 8 queries, the row at AT and the older one left out.
    assert body["queries"] == 8
    assert body["avg_query_ms"] == pytest.approx((50 + 300 + 300 + 80) / 8)
    # 20,20,20,20,50,150,150,300: the 8th of 8 (ceil(0.95 × 8)) is 300.
    assert body["p95_query_ms"] == 300
    assert body["slow_queries"] == 3  # 150×2 and 300×1 are over 100 ms
    assert body["slow_query_ms"] == 100
    assert body["success_rate"] == pytest.approx(7 / 8)


async def test_database_queries_by_query_type_and_table(served: Served) -> None:
    body = await served.get("/api/analytics/database/queries")
    by_type = {row["query_type"]: row for row in body["by_query_type"]}
    assert [row["query_type"] for row in body["by_query_type"]] == ["SELECT", "INSERT"]
    assert by_type["SELECT"]["queries"] == 7
    assert by_type["SELECT"]["avg_query_ms"] == pytest.approx((50 + 300 + 80) / 7)
    assert by_type["SELECT"]["p95_query_ms"] == 150
    assert by_type["SELECT"]["success_rate"] == 1.0
    assert by_type["INSERT"] == {
        "query_type": "INSERT",
        "queries": 1,
        "avg_query_ms": 300,
        "p95_query_ms": 300,
        "success_rate": 0.0,
    }
    by_table = {row["table"]: row for row in body["by_table"]}
    assert by_table["pitches"]["queries"] == 5
    assert by_table["pitches"]["avg_query_ms"] == pytest.approx((300 + 80) / 5)
    assert by_table["pitches"]["success_rate"] == pytest.approx(4 / 5)
    assert by_table["users"]["queries"] == 3
    assert by_table["users"]["avg_query_ms"] == pytest.approx(350 / 3)
    pairs = {(r["query_type"], r["table"]): r["queries"] for r in body["by_query_type_and_table"]}
    assert pairs == {("SELECT", "pitches"): 4, ("SELECT", "users"): 3, ("INSERT", "pitches"): 1}


async def test_database_health_reports_throughput_error_rate_and_availability(
    served: Served,
) -> None:
    body = await served.get("/api/analytics/database/health")
    assert body["queries"] == 8
    assert body["throughput_per_second"] == pytest.approx(8 / HOUR_SECONDS)
    assert body["errors"] == 1
    assert body["error_rate"] == pytest.approx(1 / 8)
    assert body["availability"] == pytest.approx(7 / 8)
    assert body["status"] == "unhealthy"  # 12.5 % of queries failed, past 5 %


async def test_slow_queries_rank_tables_and_query_types_by_p95(served: Served) -> None:
    body = await served.get("/api/analytics/database/slow-queries")
    assert body["slow_queries"] == 3
    assert body["slowest_tables"] == [
        {
            "table": "pitches",
            "queries": 5,
            "slow_queries": 1,
            "avg_query_ms": pytest.approx(76.0),
            "p95_query_ms": 300,  # 20×4, 300: the 5th of 5
            "max_query_ms": 300,
        },
        {
            "table": "users",
            "queries": 3,
            "slow_queries": 2,
            "avg_query_ms": pytest.approx(350 / 3),
            "p95_query_ms": 150,
            "max_query_ms": 150,
        },
    ]
    types = [
        (r["query_type"], r["slow_queries"], r["p95_query_ms"]) for r in body["slowest_query_types"]
    ]
    assert types == [("INSERT", 1, 300), ("SELECT", 2, 150)]


async def test_errors_by_type_and_source_per_request(served: Served) -> None:
    body = await served.get("/api/analytics/database/errors")
    # Errors reported: 1×2 + 3×1 + 1×1 = 6; requests: 10 + 5 + 5 + 20 = 40.
    assert body["requests"] == 40
    assert body["errors"] == 6
    assert body["error_rate"] == pytest.approx(6 / 40)
    assert body["by_type"] == [
        {"type": "api_error", "errors": 3, "rate": pytest.approx(3 / 40), "share": 0.5},
        {"type": "db_error", "errors": 3, "rate": pytest.approx(3 / 40), "share": 0.5},
    ]
    assert body["by_source"] == [
        {
            "source": "database",
            "errors": 4,
            "rate": pytest.approx(4 / 40),
            "share": pytest.approx(4 / 6),
        },
        {
            "source": "worker",
            "errors": 2,
            "rate": pytest.approx(2 / 40),
            "share": pytest.approx(2 / 6),
        },
    ]
    assert body["database"] == {
        "queries": 8,
        "failed_queries": 1,
        "by_error_code": [{"error_code": "23505", "queries": 1, "rate": pytest.approx(1 / 8)}],
    }


async def test_endpoints_report_latency_cache_hit_rate_and_volume(served: Served) -> None:
    body = await served.get("/api/analytics/performance/endpoints")
    assert body["endpoints"] == [
        {
            "endpoint": "/api/pitches",
            "requests": 20,
            "avg_response_ms": pytest.approx((400 + 600 + 4500) / 20),
            "p95_response_ms": 900,  # 40×10, 120×5, 900×5: the 19th of 20
            "cache_hit_rate": pytest.approx(10 / 15),  # HIT of HIT and MISS
            "error_rate_5xx": pytest.approx(5 / 20),
            "requests_per_second": pytest.approx(20 / HOUR_SECONDS),
        },
        {
            "endpoint": "/api/users",
            "requests": 20,
            "avg_response_ms": 80,
            "p95_response_ms": 80,
            "cache_hit_rate": None,  # nothing cacheable: no rate, not 0 %
            "error_rate_5xx": 0.0,
            "requests_per_second": pytest.approx(20 / HOUR_SECONDS),
        },
    ]


async def test_overview_scores_health_and_compares_with_the_previous_window(
    served: Served,
) -> None:
    body = await served.get("/api/analytics/performance/overview")
    inputs = body["inputs"]
    # This hour every input is at or past its limit: p95 900 ms (40×10, 80×20, 120×5, 900×5:
    # the 38th of 40), 12.5 % 5xx, 66.7 % cache hits, query p95 300 ms, 12.5 % failed.
    assert inputs["api_p95_ms"]["value"] == 900
    assert inputs["error_rate_5xx"]["value"] == pytest.approx(5 / 40)
    assert inputs["cache_hit_rate"]["value"] == pytest.approx(10 / 15)
    assert inputs["query_p95_ms"]["value"] == 300
    assert inputs["failed_query_rate"]["value"] == pytest.approx(1 / 8)
    assert [i["score"] for i in inputs.values()] == [0.0] * 5
    assert body["health_score"] == 0.0
    assert body["status"] == "unhealthy"
    # The hour before: p95 300 ms (60×9, 300) scores 50 between 100 (target) and 500
    # (limit); no 5xx scores 100; 90 % cache hits score 80 between 95 % and 70 %; the one
    # query took 1000 ms (0) and did not fail (100).
    assert inputs["api_p95_ms"]["previous"] == 300
    assert inputs["api_p95_ms"]["change"] == 600
    assert inputs["api_p95_ms"]["trend"] == "worse"
    assert inputs["cache_hit_rate"]["previous"] == pytest.approx(0.9)
    assert inputs["cache_hit_rate"]["trend"] == "worse"
    assert inputs["query_p95_ms"]["previous"] == 1000
    assert inputs["query_p95_ms"]["trend"] == "better"
    assert body["previous_health_score"] == pytest.approx((50 + 100 + 80 + 0 + 100) / 5)
    assert body["volume"] == {
        "requests": {"value": 40, "previous": 10},
        "queries": {"value": 8, "previous": 1},
    }


async def test_window_parameter_narrows_every_number(served: Served) -> None:
    body = await served.get("/api/analytics/database/performance?window=15m")
    # Only 50×1 (5 min ago) and 150×2 (10 min ago) are in the last 15 minutes.
    assert body["window"] == "15m"
    assert body["from"] == "2026-11-28T09:45:00Z"
    assert body["queries"] == 3
    assert body["avg_query_ms"] == pytest.approx(350 / 3)


@pytest.mark.parametrize("window", ["abc", "0s", "1.5s", "-5m", "91d", ""])
async def test_a_bad_window_is_a_400_naming_it(served: Served, window: str) -> None:
    body = await served.get(f"/api/analytics/database/health?window={window}", status=400)
    assert body["message"].startswith(f"window {window!r}")
    assert served.source.queries == []


async def test_a_second_call_within_the_ttl_sends_no_query(served: Served) -> None:
    first = await served.get("/api/analytics/performance/endpoints")
    sent = len(served.source.queries)
    assert sent == 1  # one dataset, one grouping: one statement
    served.clock.advance(29)
    assert await served.get("/api/analytics/performance/endpoints") == first
    assert len(served.source.queries) == sent
    # Another window is another question.
    await served.get("/api/analytics/performance/endpoints?window=30m")
    assert len(served.source.queries) == sent + 1
    served.clock.advance(1)  # 30 s after the first: the answer is stale
    await served.get("/api/analytics/performance/endpoints")
    assert len(served.source.queries) == sent + 2


async def test_many_viewers_at_once_cost_one_query(served: Served) -> None:

    async def view() -> None:
        await served.get("/api/analytics/database/health")

    async with anyio.create_task_group() as tasks:
        for _ in range(5):
            tasks.start_soon(view)
    assert len(served.source.queries) == 1


async def test_a_failing_source_is_a_502_and_is_not_kept(
    ae: RunningEmulator, traffic: None
) -> None:
    clock = FakeClock(AT)
    source = CountingSource(emulator_source(ae, clock, token="wrong"))
    routes = analytics_routes(source=source, datasets=shipped_rules().datasets, clock=clock)
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://status") as client:
        for _ in range(2):
            response = await client.get("/api/analytics/database/health")
            assert response.status_code == 502
            assert "pitchey_database_metrics" in response.json()["message"]
        assert len(source.queries) == 2
        response = await client.get("/api/analytics/performance/overview")
        assert response.status_code == 502
        assert "Authorization" in response.json()["message"]
    await source.aclose()
