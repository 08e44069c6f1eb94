"""A tick's statement also tells how fresh its dataset is, in the same query."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.dialect import check_sql
from alertd.emulator.server import RunningEmulator
from alertd.engine.evaluator import newest_rows
from alertd.engine.freshness import Fill
from alertd.model import Rows
from alertd.query.plan import plan
from alertd.query.results import read
from alertd.rules.adhoc import adhoc_rule
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.sources.batch import run_plan
from tests.query.emulated import AT, point, shipped_rules

DATASET = "pitchey_database_metrics"
USERS = (("table", "users"),)


@pytest.mark.anyio
async def test_the_statement_scans_to_now_but_counts_only_the_window(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write(
        DATASET,
        [
            point(100, ["select", "users", "success"], [10.0]),
            point(30, ["select", "users", "success"], [20.0]),
            # Past the window's end, before now: seen only as the newest row.
            point(-40, ["select", "users", "success"], [999.0]),
        ],
    )
    ruleset = shipped_rules()
    rules = [
        adhoc_rule(
            value,
            ruleset.datasets[DATASET],
            by=("table",),
            where=None,
            window=dt.timedelta(minutes=window),
            name=f"{value} {window}",
        )
        for value, window in (("count()", 5), ("max(duration)", 5), ("count()", 1))
    ]
    now = AT + dt.timedelta(seconds=60)
    planned = plan(rules, ruleset.datasets, AT, now)
    plain = plan(rules, ruleset.datasets, AT)
    assert len(planned.queries) == len(plain.queries) == 1  # no extra query
    sql = planned.queries[0].query.sql
    assert check_sql(sql) is None, sql
    assert "(timestamp < toDateTime('2026-11-28 10:01:00'))" in sql
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(AT).sleep
    )
    try:
        answers = await run_plan(planned, source)
    finally:
        await source.aclose()
    assert all(isinstance(answer, Rows) for answer in answers.values())
    results = read(planned, answers)
    assert results["count() 5"].series[USERS].value == 2.0
    assert results["max(duration) 5"].series[USERS].value == 20.0
    assert results["count() 1"].series[USERS].value == 1.0
    ((newest, fill),) = newest_rows(planned, answers).values()
    assert newest == AT + dt.timedelta(seconds=40)
    # Two rows in the window's five minutes, one past its end.
    assert fill == Fill(AT, dt.timedelta(minutes=5), before=2, after=1)
