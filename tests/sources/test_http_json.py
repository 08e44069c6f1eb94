"""The JSON health source against the emulator's health endpoint, and its failures."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from pydantic import SecretStr

from alertd.emulator.server import RunningEmulator
from alertd.errors import SourceError
from alertd.rules.loader import load
from alertd.simulator.timeline import parse_timeline
from alertd.simulator.writer import write_health
from alertd.sources.declared import (
    DeclaredSources,
    SourceConfigError,
    UnbuiltSource,
    build_record_sources,
)
from alertd.sources.http_json import HttpJsonSource
from tests.simulator.test_writer import RULES

pytestmark = pytest.mark.anyio
T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SATURATED = parse_timeline(
    "incidents: [{kind: pool_saturation, database: neon-primary, from: 0s, to: 10m, "
    "peak_utilization: 93%, ramp: 0s}]"
)


def _shipped(url: str, client: httpx.AsyncClient, env: dict[str, str] | None = None) -> object:
    sources = build_record_sources(
        load([RULES]).ruleset.sources,
        env={"PITCHEY_HEALTH_URL": url, **(env or {})},
        api_base="http://127.0.0.1:9/client/v4",
        account_id="acct",
        token=SecretStr("t"),
        client=client,
        now=lambda: T0,
    )
    return sources["database_health"]


async def test_the_shipped_declaration_reads_the_simulated_health_answer(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    url = f"{ae.root_url}/api/analytics/database/health"
    async with httpx.AsyncClient() as client:
        await write_health(client, ae.root_url, SATURATED, dt.timedelta(minutes=5))
        source = _shipped(url, client)
        assert isinstance(source, HttpJsonSource)
        records = await source.fetch(T0, T0)
    assert records == [
        {"database": "neon-primary", "poolUtilization": 0.93, "poolActive": 19.0, "poolMax": 20.0},
        {"database": "neon-replica", "poolUtilization": 0.2, "poolActive": 2.0, "poolMax": 10.0},
    ]


async def test_headers_carry_the_secret_from_the_environment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"databases": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        source = _shipped("https://health.example/h", client, {"PITCHEY_HEALTH_TOKEN": "s3cret"})
        assert isinstance(source, HttpJsonSource)
        assert await source.fetch(T0, T0) == []
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert seen[0].method == "GET"


async def test_an_unset_secret_makes_the_rules_unhealthy_not_the_daemon_stop() -> None:
    ruleset = load([RULES]).ruleset
    spec = ruleset.sources["database_health"]
    broken = spec.model_copy(update={"headers": {"Authorization": "Bearer ${HEALTH_TOKEN}"}})
    async with httpx.AsyncClient() as client:
        declared = DeclaredSources(
            env={},
            api_base="http://127.0.0.1:9/client/v4",
            account_id="acct",
            token=SecretStr("t"),
            client=client,
            now=lambda: T0,
        )
        source = declared.current({"database_health": broken})["database_health"]
        assert isinstance(source, UnbuiltSource)
        with pytest.raises(SourceError, match=r"headers.Authorization: HEALTH_TOKEN is not set"):
            await source.fetch(T0, T0)
        # The same declaration keeps the same source (and its budget) across reloads.
        assert declared.current({"database_health": spec})["database_health"] is not source
        again = declared.current({"database_health": spec})["database_health"]
        assert again is declared.current({"database_health": spec})["database_health"]
    with pytest.raises(SourceConfigError, match="url must start with http"):
        build_record_sources(
            {"database_health": spec.model_copy(update={"url": "${U}"})},
            env={"U": "ftp://x"},
            api_base="",
            account_id="",
            token=SecretStr("t"),
            client=client,
            now=lambda: T0,
        )


def _source(handler: httpx.MockTransport, **paths: str) -> HttpJsonSource:
    return HttpJsonSource(
        "health",
        url="https://health.example/h",
        records=paths.get("records", "databases"),
        labels={"database": "name"},
        values={"poolUtilization": paths.get("value", "connectionPool.utilization")},
        client=httpx.AsyncClient(transport=handler),
    )


@pytest.mark.parametrize(
    ("status", "body", "paths", "message", "retryable"),
    [
        (200, b"{oops", {}, "malformed JSON: {oops", True),
        (
            200,
            b'{"databases": [{"name": "a"}]}',
            {},
            "value 'poolUtilization' .* found nothing",
            False,
        ),
        (
            200,
            b'{"databases": [{"name": "a", "connectionPool": {"utilization": "high"}}]}',
            {},
            "found str 'high', not a number",
            False,
        ),
        (200, b'{"status": "ok"}', {}, "records path 'databases' finds no objects", False),
        (503, b"down", {}, "HTTP 503", True),
        (403, b"no", {}, "refused the credentials", False),
    ],
)
async def test_bad_answers_fail_naming_the_path(
    status: int, body: bytes, paths: dict[str, str], message: str, retryable: bool
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    source = _source(transport, **paths)
    with pytest.raises(SourceError, match=message) as caught:
        await source.fetch(T0, T0)
    assert caught.value.retryable is retryable
    assert source.stats.of("health").failed == 1


async def test_an_unreachable_endpoint_is_a_retryable_failure() -> None:
    source = HttpJsonSource("health", url="http://127.0.0.1:9/h", values={"v": "v"}, timeout=2.0)
    with pytest.raises(SourceError, match="ConnectError") as caught:
        await source.fetch(T0, T0)
    assert caught.value.retryable
    await source.aclose()
