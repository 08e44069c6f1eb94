from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from alertd.clock import FakeClock
from alertd.commands import simulate
from alertd.emulator.server import RunningEmulator
from alertd.engine.step import carry, step
from alertd.model import AlertState, Change, Transition
from alertd.query.plan import plan
from alertd.query.results import read
from alertd.rules.loader import load
from alertd.simulator.health import PLATFORM_HEALTH_PATH
from alertd.simulator.timeline import demo_timeline, parse_timeline
from alertd.simulator.traffic import DATASETS, Point, generate
from alertd.simulator.writer import WriteError, run_live, write_health, write_range
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.sources.batch import run_plan
from alertd.sources.declared import build_record_sources

ORIGIN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
RULES = Path(__file__).parents[2] / "rules"
TIMELINE = parse_timeline(
    "incidents:\n"
    "  - {kind: slow_table, table: users, from: 1m, to: 3m, peak_p95_ms: 320}\n"
    "  - {kind: connection_errors, from: 0s, to: 3m, per_minute: 30}\n"
)


def stored(ae: RunningEmulator, dataset: str) -> Counter[tuple[str, str]]:
    """Events and raw rows per index value, as the emulator's SQL API counts them."""
    response = ae.query(
        "SELECT index1 AS key, sum(_sample_interval) AS events, count() AS points "
        f"FROM {dataset} GROUP BY key FORMAT JSON"
    )
    response.raise_for_status()
    counts: Counter[tuple[str, str]] = Counter()
    for row in response.json()["data"]:
        counts[(row["key"], "events")] += int(row["events"])
        counts[(row["key"], "points")] += int(row["points"])
    return counts


def expected(points: list[Point]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for point in points:
        counts[(point["indexes"][0], "events")] += point["sample_interval"]
        counts[(point["indexes"][0], "points")] += 1
    return counts


@pytest.mark.anyio
async def test_write_range_stores_every_generated_event(ae: RunningEmulator) -> None:
    ae.reset()
    start, end = ORIGIN - 30 * dt.timedelta(seconds=1), ORIGIN + 3 * MINUTE
    async with httpx.AsyncClient() as client:
        written = await write_range(
            client, ae.root_url, TIMELINE, start, end, origin=ORIGIN, seed=3, chunk=MINUTE
        )
    generated = generate(TIMELINE, start, end, origin=ORIGIN, seed=3)
    assert written == sum(len(points) for points in generated.values())
    for dataset in DATASETS:
        assert stored(ae, dataset) == expected(generated[dataset]), dataset
    assert ("database_connection", "events") in stored(ae, "pitchey_error_tracking")


@pytest.mark.anyio
async def test_run_live_writes_up_to_the_clock_until_told_to_stop(ae: RunningEmulator) -> None:
    ae.reset()
    clock = FakeClock(ORIGIN + dt.timedelta(milliseconds=400))
    async with httpx.AsyncClient() as client:
        written = await run_live(
            clock,
            client,
            ae.root_url,
            TIMELINE,
            origin=ORIGIN,
            seed=5,
            until=ORIGIN + 2 * MINUTE,
            every=dt.timedelta(seconds=15),
        )
    generated = generate(TIMELINE, ORIGIN, ORIGIN + 2 * MINUTE, origin=ORIGIN, seed=5)
    assert written == sum(len(points) for points in generated.values())
    for dataset in DATASETS:
        assert stored(ae, dataset) == expected(generated[dataset]), dataset
    assert clock.slept == [15.0] * 8


@pytest.mark.anyio
async def test_run_live_writes_history_from_since_before_the_origin() -> None:
    received: list[Point] = []

    def emulator(request: httpx.Request) -> httpx.Response:
        if request.url.path == PLATFORM_HEALTH_PATH:
            return httpx.Response(200, json={"stored": True})
        batch = json.loads(request.content)
        received.extend(batch)
        return httpx.Response(200, json={"written": len(batch), "dropped": 0})

    clock = FakeClock(ORIGIN)
    async with httpx.AsyncClient(transport=httpx.MockTransport(emulator)) as client:
        await run_live(
            clock,
            client,
            "http://emulator",
            TIMELINE,
            origin=ORIGIN,
            seed=5,
            since=ORIGIN - 2 * MINUTE,
            until=ORIGIN,
        )
    generated = generate(TIMELINE, ORIGIN - 2 * MINUTE, ORIGIN, origin=ORIGIN, seed=5)
    assert sorted(received, key=json.dumps) == sorted(
        (p for points in generated.values() for p in points), key=json.dumps
    )
    assert clock.slept == []


@pytest.mark.anyio
async def test_run_live_retries_a_failed_write_without_losing_or_repeating_data() -> None:
    received: list[Point] = []
    answers = iter([503, 503])

    def flaky_emulator(request: httpx.Request) -> httpx.Response:
        if request.url.path == PLATFORM_HEALTH_PATH:
            return httpx.Response(200, json={"stored": True})
        status = next(answers, 200)
        if status != 200:
            return httpx.Response(status, text="overloaded")
        batch = json.loads(request.content)
        received.extend(batch)
        return httpx.Response(200, json={"written": len(batch), "dropped": 0})

    clock = FakeClock(ORIGIN + MINUTE)
    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=httpx.MockTransport(flaky_emulator)) as client:
            await run_live(
                clock,
                client,
                "http://emulator",
                TIMELINE,
                origin=ORIGIN,
                seed=5,
                until=ORIGIN + 2 * MINUTE,
                every=dt.timedelta(seconds=20),
            )
    generated = generate(TIMELINE, ORIGIN, ORIGIN + 2 * MINUTE, origin=ORIGIN, seed=5)
    assert sorted(received, key=json.dumps) == sorted(
        (p for points in generated.values() for p in points), key=json.dumps
    )
    failures = [e for e in logs if e["event"] == "simulator.write_failed"]
    assert len(failures) == 2
    assert "503 overloaded" in failures[0]["error"]


@pytest.mark.anyio
async def test_write_range_names_the_dataset_the_emulator_refused() -> None:
    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="point 1: blobs: must be an array")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refusing)) as client:
        with pytest.raises(WriteError, match="pitchey_database_metrics: 400 point 1"):
            await write_range(
                client, "http://emulator", TIMELINE, ORIGIN, ORIGIN + MINUTE, origin=ORIGIN, seed=1
            )


def test_the_simulate_command_writes_a_range(ae: RunningEmulator) -> None:
    ae.reset()
    out = io.StringIO()
    end = ORIGIN + 2 * MINUTE
    assert simulate.run(ae.base_url, None, ORIGIN, end, False, 1.0, 7, out) == 0
    assert out.getvalue().startswith("wrote ")
    generated = generate(demo_timeline(), ORIGIN, end, origin=ORIGIN, seed=7)
    assert stored(ae, "pitchey_database_metrics") == expected(generated["pitchey_database_metrics"])


def test_the_simulate_command_says_when_the_emulator_is_not_there() -> None:
    out = io.StringIO()
    code = simulate.run("http://127.0.0.1:9", None, ORIGIN, ORIGIN + MINUTE, False, 1.0, 7, out)
    assert code == 1
    assert out.getvalue().startswith("alertd simulate: cannot write to http://127.0.0.1:9/")


async def replay(ae: RunningEmulator, end: dt.datetime) -> list[Transition]:
    """Every transition the shipped rules make, ticking every 30 s from the origin to `end`.

    Before each tick the platform's health answer is set to the timeline's at that tick,
    as the live simulator keeps it; Worker invocations were written with the traffic.
    """
    ruleset = load([RULES]).ruleset
    timeline = demo_timeline()
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(ORIGIN).sleep
    )
    states: dict[str, AlertState] = {}
    transitions: list[Transition] = []
    at = ORIGIN
    async with httpx.AsyncClient() as client:
        records = build_record_sources(
            ruleset.sources,
            env={"PITCHEY_HEALTH_URL": f"{ae.root_url}/api/analytics/database/health"},
            api_base=ae.base_url,
            account_id=ae.account_id,
            token=SecretStr(ae.token),
            client=client,
            now=lambda: at,
        )
        try:
            while at <= end:
                await write_health(client, ae.root_url, timeline, at - ORIGIN)
                planned = plan(ruleset.rules, ruleset.datasets, at)
                answers = await run_plan(planned, source, records)
                result = step(ruleset.rules, read(planned, answers), states, at)
                assert result.unhealthy == {}
                states = carry(states, result)
                transitions.extend(result.transitions)
                at += dt.timedelta(seconds=30)
        finally:
            await source.aclose()
    return transitions


@pytest.mark.anyio
async def test_the_demo_timeline_fires_and_resolves_every_shipped_rule(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    timeline = demo_timeline()
    end = ORIGIN + timeline.length
    async with httpx.AsyncClient() as client:
        await write_range(
            client,
            ae.root_url,
            timeline,
            ORIGIN - 5 * MINUTE,
            end,
            origin=ORIGIN,
            seed=7,
            chunk=5 * MINUTE,
        )
    transitions = await replay(ae, end)

    changes: dict[tuple[str, str], list[Change]] = {}
    for t in transitions:
        named = ("table", "endpoint", "source", "scriptName", "database")
        series = ",".join(f"{k}={v}" for k, v in t.labels if k in named)
        changes.setdefault((t.rule, series), []).append(t.change)
    assert set(changes) == {
        ("SlowQueryP95", "table=users"),
        ("FailedQueryRate", "table=messages"),
        ("DatabaseConnectionErrors", "source=neon-pool"),
        ("ApiResponseP95", "endpoint=/api/search"),
        ("HighErrorRate", "endpoint=/api/pitches"),
        ("ApplicationErrorRate", ""),
        ("LowCacheHitRate", ""),
        ("WorkerCpuNearLimit", "scriptName=pitchey-api"),
        ("ConnectionPoolSaturated", "database=neon-primary"),
    }
    assert {rule for rule, _ in changes} == {r.name for r in load([RULES]).ruleset.rules}
    for alert, seen in changes.items():
        assert seen.count(Change.FIRING) == 1, alert
        assert seen[-1] is Change.RESOLVED, alert
    assert changes[("SlowQueryP95", "table=users")][:3] == [
        Change.PENDING,
        Change.FIRING,
        Change.ESCALATED,
    ]
