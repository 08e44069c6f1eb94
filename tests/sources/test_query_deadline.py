"""A query gives up once waiting for AE would take it past its deadline."""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.errors import SourceError
from alertd.model import Query
from alertd.settings import Settings
from alertd.sources.analytics_engine import AnalyticsEngineSource

pytestmark = pytest.mark.anyio

ACCOUNT = "0123456789abcdef0123456789abcdef"
QUERY = Query(sql="SELECT count() AS n FROM web FORMAT JSON", dataset="web", rules=("r",))
OK = {"meta": [{"name": "n", "type": "UInt64"}], "data": [{"n": "1"}], "rows": 1}


class Busy:
    """AE answering 429 with a Retry-After to every request, then, if told, a success."""

    def __init__(self, retry_after: str, busy_answers: int = 1_000) -> None:
        self.retry_after = retry_after
        self.busy_answers = busy_answers
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests > self.busy_answers:
            return httpx.Response(200, json=OK)
        return httpx.Response(429, text="busy", headers={"Retry-After": self.retry_after})


def source(handler: Busy, clock: FakeClock, **options: Any) -> AnalyticsEngineSource:
    return AnalyticsEngineSource(
        "https://ae.test/client/v4",
        ACCOUNT,
        SecretStr("token"),
        sleep=clock.sleep,
        monotonic=lambda: clock.now().timestamp(),
        client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        random=Random(1),
        **options,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC))


async def test_a_retry_after_past_the_deadline_gives_up_without_waiting(clock: FakeClock) -> None:
    busy = Busy("300")
    with pytest.raises(SourceError) as caught:
        await source(busy, clock, retries=3, deadline=120.0).run(QUERY)
    assert clock.slept == []
    assert busy.requests == 1
    error = caught.value
    assert error.retryable is True
    assert error.status == 429
    assert error.retry_after == 300.0
    assert "deadline" in error.message
    assert "120 s" in error.message
    assert "'web'" in error.message


async def test_waits_stop_at_the_one_that_would_pass_the_deadline(clock: FakeClock) -> None:
    busy = Busy("50")
    with pytest.raises(SourceError, match="deadline"):
        await source(busy, clock, retries=5, deadline=120.0).run(QUERY)
    assert clock.slept == [50.0, 50.0]
    assert busy.requests == 3


async def test_waits_within_the_deadline_are_honoured(clock: FakeClock) -> None:
    busy = Busy("50", busy_answers=2)
    rows = await source(busy, clock, retries=3, deadline=120.0).run(QUERY)
    assert rows.data == ({"n": 1},)
    assert clock.slept == [50.0, 50.0]


async def test_the_default_deadline_never_lets_one_query_stall_a_tick_for_minutes(
    clock: FakeClock,
) -> None:
    with pytest.raises(SourceError, match="deadline"):
        await source(Busy("300"), clock).run(QUERY)
    assert sum(clock.slept) <= 120.0


def test_the_deadline_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTD_QUERY_DEADLINE_SECONDS", raising=False)
    assert Settings().query_deadline_seconds == 120.0
    monkeypatch.setenv("ALERTD_QUERY_DEADLINE_SECONDS", "45")
    assert Settings().query_deadline_seconds == 45.0


def test_a_deadline_must_be_positive(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="deadline"):
        source(Busy("1"), clock, deadline=0.0)
