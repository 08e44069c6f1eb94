"""An AE answer is read as it streams in and refused, unread, past the size limit."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import AsyncIterator
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
QUERY = Query(
    sql="SELECT blob1 AS g0, count() AS m0 FROM web GROUP BY g0 FORMAT JSON",
    dataset="web",
    rules=("ManyRoutes",),
    labels=("g0",),
    measures=("m0",),
)
LIMIT = 64 * 1024
CHUNK = b" " * 1024


class Flood:
    """A body of `chunks` KiB of blanks before a valid answer, counting what was pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"meta":[{"name":"g0","type":"String"},{"name":"m0","type":"UInt64"}],'
        for _ in range(self.chunks):
            self.pulled += 1
            yield CHUNK
        yield b'"data":[]}'


def source(handler: Any, **options: Any) -> AnalyticsEngineSource:
    clock = FakeClock(dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC))
    options.setdefault("max_response_bytes", LIMIT)
    return AnalyticsEngineSource(
        "https://ae.test/client/v4",
        ACCOUNT,
        SecretStr("token"),
        sleep=clock.sleep,
        client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        **options,
    )


async def test_an_answer_past_the_limit_is_refused_without_reading_the_rest() -> None:
    flood = Flood(chunks=100_000)  # about 100 MB
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=flood)

    with pytest.raises(SourceError) as caught:
        await source(answer).run(QUERY)
    assert flood.pulled <= LIMIT // len(CHUNK) + 1
    assert len(requests) == 1  # the same statement would bring the same flood
    error = caught.value
    assert error.retryable is False
    assert error.message == (
        "AE answer for dataset 'web' (rules: ManyRoutes) is larger than 65536 bytes "
        "(ALERTD_QUERY_MAX_RESPONSE_BYTES); the rest was not read"
    )


async def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    flood = Flood(chunks=100)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=flood, headers={"Content-Length": str(10**9)})

    with pytest.raises(SourceError, match="larger than 65536 bytes"):
        await source(answer).run(QUERY)
    assert flood.pulled == 0


async def test_the_limit_counts_the_bytes_after_decompression() -> None:
    body = json.dumps({"meta": [], "data": [], "pad": " " * (LIMIT * 4)}).encode()
    packed = gzip.compress(body)
    assert len(packed) < LIMIT

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=packed, headers={"Content-Encoding": "gzip"})

    with pytest.raises(SourceError, match="larger than 65536 bytes"):
        await source(answer).run(QUERY)


async def test_an_answer_within_the_limit_is_read_whole() -> None:
    flood = Flood(chunks=LIMIT // len(CHUNK) - 1)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=flood)

    rows = await source(answer).run(QUERY)
    assert rows.data == ()
    assert flood.pulled == LIMIT // len(CHUNK) - 1


async def test_a_huge_error_answer_is_read_only_as_far_as_its_excerpt() -> None:
    flood = Flood(chunks=100_000)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=flood)

    with pytest.raises(SourceError) as caught:
        await source(answer, retries=0).run(QUERY)
    assert caught.value.retryable is True
    assert caught.value.status == 503
    assert flood.pulled <= 64 + 1


def test_the_limit_is_a_setting_of_64_mib_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTD_QUERY_MAX_RESPONSE_BYTES", raising=False)
    assert Settings().query_max_response_bytes == 64 * 1024 * 1024
    monkeypatch.setenv("ALERTD_QUERY_MAX_RESPONSE_BYTES", "1000")
    assert Settings().query_max_response_bytes == 1000


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size limit"):
        source(lambda request: httpx.Response(200), max_response_bytes=0)
