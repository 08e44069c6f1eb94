"""A failing source changes no alert state, marks rules unhealthy, and after the configured
time raises AlertdSourceUnavailable, which resolves when the source answers again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.engine.evaluator import Evaluator
from alertd.engine.source_health import SOURCE_ALERT
from alertd.model import Change, Status, Transition
from alertd.query.check import check_rules
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.store.memory import MemoryStore
from tests.e2e.test_backtest import T0, query_points
from tests.sources.fault_proxy import COLUMNLESS, rewrite

RULES = Path(__file__).parents[2] / "rules"


class FlakyTransport(httpx.AsyncBaseTransport):
    """Passes requests to the emulator, or fails them the way `mode` says."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.mode == "ok":
            return await self.real.handle_async_request(request)
        if self.mode == "500":
            return httpx.Response(500, text="Sorry, we were unable to evaluate your query")
        if self.mode == "429":
            return httpx.Response(429, headers={"Retry-After": "2"}, text="Too many queries queued")
        if self.mode == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.mode == "garbage":
            return httpx.Response(200, text="<html>gateway</html>")
        if self.mode == "columnless":
            return httpx.Response(200, content=COLUMNLESS)
        if self.mode == "text_in_numbers":
            real = await self.real.handle_async_request(request)
            return httpx.Response(200, content=rewrite(self.mode, await real.aread()))
        raise AssertionError(self.mode)


def modes() -> Iterator[str]:
    while True:
        yield from ("500", "429", "timeout", "garbage", "columnless", "text_in_numbers")


@pytest.mark.anyio
async def test_failures_keep_state_and_raise_source_unavailable_after_five_minutes(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    ae.write("pitchey_database_metrics", query_points())
    validation_error = {
        "timestamp": int(T0.timestamp() * 1000),
        "indexes": ["validation"],
        "blobs": ["validation", "api", "bad input", "400", "/api/search", "u1"],
        "doubles": [T0.timestamp(), 1.0],
    }
    ae.write("pitchey_error_tracking", [validation_error])
    loaded = check_rules([RULES])
    database = next(g for g in loaded.ruleset.groups if g.name == "database")
    transport = FlakyTransport()
    clock = FakeClock(T0)
    source = AnalyticsEngineSource(
        ae.base_url,
        ae.account_id,
        SecretStr(ae.token),
        sleep=clock.sleep,
        client=httpx.AsyncClient(transport=transport),
        retries=2,
    )
    evaluator = Evaluator(
        loaded.ruleset, source, MemoryStore(), source_down_after=dt.timedelta(minutes=5)
    )
    transitions: list[Transition] = []

    async def run(start: float, end: float) -> None:
        at = T0 + dt.timedelta(minutes=start)
        while at < T0 + dt.timedelta(minutes=end):
            transitions.extend((await evaluator.tick(database, at)).transitions)
            at += dt.timedelta(seconds=30)

    await run(5.5, 7)  # the slow table fires at 6m30s (see test_backtest)
    firing = {k: v for k, v in evaluator.states.items() if v.status is Status.FIRING}
    assert [s.rule for s in firing.values()] == ["SlowQueryP95"]

    failure_modes = modes()
    at = T0 + dt.timedelta(minutes=7)
    before = dict(evaluator.states)
    outage: list[Transition] = []
    while at < T0 + dt.timedelta(minutes=12, seconds=30):
        transport.mode = next(failure_modes)
        outage.extend((await evaluator.tick(database, at)).transitions)
        rule_states = {k: v for k, v in evaluator.states.items() if v.rule != SOURCE_ALERT}
        assert rule_states == before  # no alert moved, none resolved
        # Rules on other sources are not judged here (no way to ask them): only AE's fail.
        sources = set(loaded.ruleset.sources)
        on_ae = {r.name for r in database.rules if not set(r.datasets) & sources}
        assert set(evaluator.unhealthy) == on_ae
        at += dt.timedelta(seconds=30)
    # Failing since 7m: pending at once, paged 5 minutes later, once per dataset queried.
    assert sorted(
        (dict(t.labels)["dataset"], t.change.value, t.at.strftime("%H:%M:%S")) for t in outage
    ) == [
        ("pitchey_database_metrics", "firing", "09:12:00"),
        ("pitchey_database_metrics", "pending", "09:07:00"),
        ("pitchey_error_tracking", "firing", "09:12:00"),
        ("pitchey_error_tracking", "pending", "09:07:00"),
    ]
    assert {t.rule for t in outage} == {SOURCE_ALERT}

    transport.mode = "ok"
    recovered = (await evaluator.tick(database, at)).transitions
    assert [(t.rule, t.change) for t in recovered] == [(SOURCE_ALERT, Change.RESOLVED)] * 2
    assert evaluator.unhealthy == {}
    # The rule alert never fired twice: the outage did not reset it.
    assert [t.change for t in transitions + outage + recovered if t.rule == "SlowQueryP95"] == [
        Change.PENDING,
        Change.FIRING,
    ]
    await source.aclose()


@pytest.mark.anyio
async def test_a_rule_whose_query_is_refused_raises_alertd_rule_failing(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    ae.write("pitchey_database_metrics", query_points())  # no error dataset: AE refuses it
    loaded = check_rules([RULES])
    database = next(g for g in loaded.ruleset.groups if g.name == "database")
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
    )
    evaluator = Evaluator(
        loaded.ruleset, source, MemoryStore(), source_down_after=dt.timedelta(minutes=5)
    )
    found: list[Transition] = []
    at = T0 + dt.timedelta(minutes=1)
    while at <= T0 + dt.timedelta(minutes=6):
        found.extend((await evaluator.tick(database, at)).transitions)
        at += dt.timedelta(seconds=30)
    await source.aclose()
    health = [
        (t.rule, dict(t.labels), t.change.value, t.at.strftime("%M:%S"))
        for t in found
        if t.rule.startswith("Alertd")
    ]
    assert health == [
        ("AlertdRuleFailing", {"rule": "DatabaseConnectionErrors"}, "pending", "01:00"),
        ("AlertdRuleFailing", {"rule": "DatabaseConnectionErrors"}, "firing", "06:00"),
    ]
    firing = next(t for t in found if t.rule == "AlertdRuleFailing" and t.change.value == "firing")
    assert "unknown table" in (firing.threshold or "")
