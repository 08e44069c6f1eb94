"""The Workers GraphQL source against the emulator's GraphQL API, and its failures."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.emulator.workers_graphql import INVOCATIONS
from alertd.errors import SourceAuthError, SourceError
from alertd.sources.query_budget import QueryBudget
from alertd.sources.workers_graphql import WorkersGraphqlSource

pytestmark = pytest.mark.anyio
T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
LIMITS = {"pitchey-api": 50.0, "pitchey-analytics": 30.0}


def _source(
    base_url: str, token: str, clock: FakeClock, client: httpx.AsyncClient, limit: int = 300
) -> WorkersGraphqlSource:
    return WorkersGraphqlSource(
        "workers",
        api_base=base_url,
        account_id="acct",
        token=SecretStr(token),
        scripts=LIMITS,
        budget=QueryBudget(limit, dt.timedelta(minutes=5), clock.now),
        client=client,
        now=clock.now,
    )


def _invocation(at: dt.datetime, script: str, status: str, cpu_us: float) -> dict[str, object]:
    return {"timestamp": at, "blobs": [script, status], "doubles": [cpu_us]}


async def test_cpu_quantiles_in_ms_per_script_and_status(ae: RunningEmulator) -> None:
    ae.reset()
    points = [
        _invocation(T0 + dt.timedelta(seconds=i), "pitchey-api", "success", 1000.0 * (i + 1))
        for i in range(100)
    ]
    points += [_invocation(T0, "pitchey-api", "exceededCpu", 60_000.0)] * 3
    points += [_invocation(T0, "other-script", "success", 9e6)]  # not watched
    points += [_invocation(T0 - dt.timedelta(hours=1), "pitchey-analytics", "success", 1.0)]
    ae.write(INVOCATIONS, points)
    clock = FakeClock(T0 + dt.timedelta(minutes=5))
    async with httpx.AsyncClient() as client:
        source = _source(ae.base_url, ae.token, clock, client)
        records = await source.fetch(T0, T0 + dt.timedelta(minutes=5))
    by_status = {r["status"]: r for r in records}
    assert set(by_status) == {"success", "exceededCpu"}
    ok = by_status["success"]
    assert ok["scriptName"] == "pitchey-api"
    assert ok["requests"] == 100
    assert ok["errors"] == 0
    assert ok["cpuTimeP99"] == 99.0  # 99,000 µs: the 99th of 1..100 ms
    assert ok["cpuTimeP50"] == 50.0
    assert ok["cpuLimitMs"] == 50.0
    assert by_status["exceededCpu"]["errors"] == 3
    assert source.stats.of("workers").attempts == 1


async def test_errors_on_http_200_are_a_failure(ae: RunningEmulator) -> None:
    async with httpx.AsyncClient() as client:
        source = _source(ae.base_url, ae.token, FakeClock(T0), client)
        source._limits = {"no such script!": 1.0}  # the API refuses the variable
        with pytest.raises(SourceError, match=r"answered with errors: \$scripts must be") as caught:
            await source.fetch(T0, T0 + dt.timedelta(minutes=5))
    assert not caught.value.retryable
    assert source.stats.of("workers").failed == 1


async def test_the_emulator_refuses_another_query_shape(ae: RunningEmulator) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{ae.base_url}/graphql",
            headers={"Authorization": f"Bearer {ae.token}"},
            json={"query": "query { viewer { zones { httpRequests1mGroups { count } } } }"},
        )
    assert answer.status_code == 200
    assert "unsupported query" in answer.json()["errors"][0]["message"]


async def test_a_wrong_token_is_an_auth_error(ae: RunningEmulator) -> None:
    if ae.token == "any-token":
        pytest.skip("this emulator accepts any token")
    async with httpx.AsyncClient() as client:
        source = _source(ae.base_url, "wrong", FakeClock(T0), client)
        with pytest.raises(SourceAuthError):
            await source.fetch(T0, T0 + dt.timedelta(minutes=5))


async def test_the_budget_refuses_before_sending_and_frees_up_as_time_passes(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    clock = FakeClock(T0)
    async with httpx.AsyncClient() as client:
        source = _source(ae.base_url, ae.token, clock, client, limit=3)
        for _ in range(3):
            assert await source.fetch(T0, T0) == []
            clock.advance(60)
        with pytest.raises(SourceError, match="3 queries in 0:05:00 already sent") as caught:
            await source.fetch(T0, T0)
        assert caught.value.retryable
        assert caught.value.retry_after == 120
        assert source.stats.of("workers").attempts == 3  # refused before it was sent
        clock.advance(120)  # the first query leaves the window
        assert await source.fetch(T0, T0) == []
    assert source.stats.of("workers").attempts == 4


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"{not json", "malformed JSON"),
        (200, b'{"data": {"viewer": {}}}', "unexpected GraphQL answer"),
        (502, b"bad gateway", "HTTP 502"),
    ],
)
async def test_bad_answers_name_the_problem(status: int, body: bytes, message: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    async with httpx.AsyncClient(transport=transport) as client:
        source = _source("https://api.example/client/v4", "t", FakeClock(T0), client)
        with pytest.raises(SourceError, match=message):
            await source.fetch(T0, T0)
