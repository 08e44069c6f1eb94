"""Run rules end to end: plan, the emulator's SQL API (chdb), and reading the answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.dialect import check_sql
from alertd.emulator.server import RunningEmulator
from alertd.query.plan import plan
from alertd.query.results import RuleResult, read
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule, RuleSet
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.sources.batch import run_plan

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def shipped_rules() -> RuleSet:
    loaded = load([Path(__file__).parents[2] / "rules"])
    assert loaded.errors == []
    return loaded.ruleset


def point(seconds_before: int, blobs: Sequence[str], doubles: Sequence[float]) -> dict[str, object]:
    """One unsampled data point written `seconds_before` the tick."""
    at = AT - dt.timedelta(seconds=seconds_before)
    return {
        "timestamp": int(at.timestamp() * 1000),
        "indexes": [blobs[0]],
        "blobs": list(blobs),
        "doubles": list(doubles),
    }


async def evaluate(
    ae: RunningEmulator, ruleset: RuleSet, rules: Sequence[Rule]
) -> Mapping[str, RuleResult]:
    """Every rule's result at AT; fails if a statement leaves AE's dialect or errors."""
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(AT).sleep
    )
    try:
        planned = plan(rules, ruleset.datasets, AT)
        for query in planned.queries:
            assert check_sql(query.query.sql) is None, query.query.sql
        answers = await run_plan(planned, source)
    finally:
        await source.aclose()
    for answer in answers.values():
        assert not isinstance(answer, Exception), answer
    return read(planned, answers)
