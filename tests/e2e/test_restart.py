"""A restart resumes exactly: nothing fires or resolves again, timers keep running."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.engine.evaluator import Evaluator
from alertd.model import Change, Transition
from alertd.query.check import check_rules
from alertd.rules.ruleset import Group, RuleSet
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.store.sqlite import SqliteStore
from tests.e2e.test_backtest import T0, query_points

RULES = Path(__file__).parents[2] / "rules"


def database_group() -> tuple[RuleSet, Group]:
    loaded = check_rules([RULES])
    group = next(g for g in loaded.ruleset.groups if g.name == "database")
    return loaded.ruleset, group


async def run_span(ae: RunningEmulator, db: Path, start: float, end: float) -> list[Transition]:
    """Start a fresh evaluator on the store at `db`, tick [start, end) minutes, stop."""
    ruleset, group = database_group()
    store = await SqliteStore.open(db)
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
    )
    evaluator = Evaluator(ruleset, source, store)
    await evaluator.restore()
    found: list[Transition] = []
    at = T0 + dt.timedelta(minutes=start)
    try:
        while at < T0 + dt.timedelta(minutes=end):
            found.extend((await evaluator.tick(group, at)).transitions)
            at += dt.timedelta(seconds=30)
    finally:
        await source.aclose()
        await store.aclose()
    return found


def slow(transitions: list[Transition]) -> list[tuple[str, Change]]:
    return [(t.at.strftime("%M:%S"), t.change) for t in transitions if t.rule == "SlowQueryP95"]


@pytest.fixture
def data(ae: RunningEmulator) -> RunningEmulator:
    ae.reset()
    ae.write("pitchey_database_metrics", query_points())
    return ae


@pytest.mark.anyio
@pytest.mark.parametrize(
    "restart_at",
    [6.0, 6.5, 15.0],
    ids=["middle-of-for", "at-the-firing-tick", "middle-of-keep-firing-for"],
)
async def test_restarts_change_no_transition(
    data: RunningEmulator, tmp_path: Path, restart_at: float
) -> None:
    uninterrupted = await run_span(data, tmp_path / "a.db", 1, 20)
    first = await run_span(data, tmp_path / "b.db", 1, restart_at)
    second = await run_span(data, tmp_path / "b.db", restart_at, 20)
    assert slow(uninterrupted) == [
        ("05:30", Change.PENDING),
        ("06:30", Change.FIRING),
        ("15:30", Change.RESOLVED),
    ]
    assert slow(first + second) == slow(uninterrupted)
