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
from alertd.simulator.quality import BLIP, QUALITY_DAY, Score, day_points, expected, score
from alertd.simulator.timeline import SlowTable, Timeline
from alertd.simulator.traffic import DATABASE
from alertd.sources.analytics_engine import AnalyticsEngineSource
from tests.query.emulated import shipped_rules

T0 = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
RULE = "SlowQueryP95"
KEEP = 20  # one point in twenty: some 75 rows per five minutes on users
# The day's slow-table incidents: slight, large, on the sampled index, and at the bound.
DAY = Timeline(incidents=[i for i in QUALITY_DAY.incidents if isinstance(i, SlowTable)])


def only_the_rule(confidence: float | None) -> RuleSet:
    shipped = shipped_rules()
    group = next(g for g in shipped.groups if any(r.name == RULE for r in g.rules))
    rule = next(r for r in group.rules if r.name == RULE)
    rules = (dataclasses.replace(rule, confidence=confidence),)
    return RuleSet(shipped.datasets, (dataclasses.replace(group, rules=rules),))


def replay(
    ae: RunningEmulator, ruleset: RuleSet, start: dt.datetime, end: dt.datetime
) -> list[Transition]:
    async def run() -> list[Transition]:
        source = AnalyticsEngineSource(
            ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
        )
        try:
            return await range_backtest(ruleset, source, start, end, chunk=dt.timedelta(hours=6))
        finally:
            await source.aclose()

    return anyio.run(run)


def scored(
    ae: RunningEmulator, confidence: float | None, start: dt.datetime, end: dt.datetime
) -> Score:
    return score(RULE, replay(ae, only_the_rule(confidence), start, end), expected(DAY, T0))


def test_a_sampled_day_pages_every_incident_and_nothing_else(ae: RunningEmulator) -> None:
    ae.reset()
    points = day_points(DAY, T0, keep=KEEP, datasets=(DATABASE,))[DATABASE]
    # Only the tables the day is about: fewer rows to write, the same windows per table.
    ae.write(DATABASE, [p for p in points if p["indexes"] != ["follows"]])
    weighed = scored(ae, 0.95, T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(days=1))
    assert weighed.incidents == 3
    assert weighed.paged == 3, weighed
    assert weighed.false_pages == 0, weighed
    assert weighed.flaps == 0, weighed
    assert weighed.hovering_pages <= 1, weighed
    # Judged by its value alone, the rule pages for the blip's one heavy row.
    around_the_blip = T0 + BLIP - dt.timedelta(minutes=5), T0 + BLIP + dt.timedelta(minutes=15)
    assert scored(ae, None, *around_the_blip).false_pages == 1
