"""A simulated day on small sampled indexes, replayed by a range backtest against the
emulator: with confidence, SlowQueryP95 pages every incident, not the one-row blip, and
at most once for a series sitting at its bound for an hour."""

from __future__ import annotations

import dataclasses
import datetime as dt

import anyio
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.engine.range_backtest import range_backtest
from alertd.model import Transition
from alertd.rules.ruleset import RuleSet
from alertd.simulator.quality import QUALITY_DAY, Score, day_points, expected, score
from alertd.simulator.timeline import SlowTable, Timeline
from alertd.simulator.traffic import DATABASE
from alertd.sources.analytics_engine import AnalyticsEngineSource
from tests.query.emulated import shipped_rules

T0 = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
RULE = "SlowQueryP95"
# The day's slow-table incidents: slight, large, on the sampled index, and at the bound.
DAY = Timeline(incidents=[i for i in QUALITY_DAY.incidents if isinstance(i, SlowTable)])


def only_the_rule(confidence: float | None) -> RuleSet:
    shipped = shipped_rules()
    group = next(g for g in shipped.groups if any(r.name == RULE for r in g.rules))
    rule = next(r for r in group.rules if r.name == RULE)
    rules = (dataclasses.replace(rule, confidence=confidence),)
    return RuleSet(shipped.datasets, (dataclasses.replace(group, rules=rules),))


def replay(ae: RunningEmulator, ruleset: RuleSet) -> list[Transition]:
    async def run() -> list[Transition]:
        source = AnalyticsEngineSource(
            ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
        )
        try:
            start, end = T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(days=1)
            return await range_backtest(ruleset, source, start, end)
        finally:
            await source.aclose()

    return anyio.run(run)


def scored(ae: RunningEmulator, confidence: float | None) -> Score:
    return score(RULE, replay(ae, only_the_rule(confidence)), expected(DAY, T0))


def test_a_sampled_day_pages_every_incident_and_nothing_else(ae: RunningEmulator) -> None:
    ae.reset()
    for dataset, points in day_points(DAY, T0, keep=10, datasets=(DATABASE,)).items():
        ae.write(dataset, points)
    weighed = scored(ae, 0.95)
    assert weighed.incidents == 3
    assert weighed.paged == 3, weighed
    assert weighed.false_pages == 0, weighed
    assert weighed.flaps == 0, weighed
    assert weighed.hovering_pages <= 1, weighed
    # Judged by its value alone, the rule pages for the blip's one heavy row.
    assert scored(ae, None).false_pages >= 1
