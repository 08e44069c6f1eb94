"""A count or sum over a condition no row meets is 0, not "no data"; a mean is unknown."""

from __future__ import annotations

import datetime as dt

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.rules.adhoc import adhoc_rule
from tests.query.emulated import evaluate, point, shipped_rules

DATASET = "pitchey_database_metrics"
USERS, PITCHES = (("table", "users"),), (("table", "pitches"),)


def row(table: str, status: str, seconds_before: int, row_count: float) -> dict[str, object]:
    blobs = ["SELECT", table, status, "", "/api", "u1"]
    return point(seconds_before, blobs, [12.0, row_count, 0.0])


@pytest.mark.anyio
async def test_an_empty_condition_counts_zero_over_the_series_rows(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write(
        DATASET,
        [
            *(row("users", "success", 10 + i, 5.0) for i in range(3)),
            row("pitches", "error", 20, 7.0),
            row("pitches", "success", 30, 1.0),
        ],
    )
    ruleset = shipped_rules()
    values = [
        'sum(rowCount, status == "error")',
        'count(status == "error")',
        'ratio(status == "error")',
        'max(duration, status == "error")',
        'avg(duration, status == "error")',
        'p95(duration, status == "error")',
    ]
    rules = {
        value: adhoc_rule(
            value,
            ruleset.datasets[DATASET],
            by=("table",),
            where=None,
            window=dt.timedelta(minutes=5),
            name=value,
        )
        for value in values
    }
    results = await evaluate(ae, ruleset, list(rules.values()))
    for value in values[:3]:
        users = results[value].series[USERS]
        assert (users.value, users.samples) == (0.0, 3), value
    assert results['sum(rowCount, status == "error")'].series[PITCHES].value == 7.0
    assert results['sum(rowCount, status == "error")'].series[PITCHES].samples == 2
    for value in values[3:]:
        # Traffic but no error: the mean, extreme or quantile of nothing is unknown.
        users_value = results[value].series.get(USERS)
        assert users_value is None or users_value.value is None, value
        assert results[value].series[PITCHES].value == 12.0


@pytest.mark.anyio
async def test_tables_differing_only_by_a_nul_stay_two_series(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write(DATASET, [row("users", "success", 10, 1.0), row("users\u0000", "error", 20, 1.0)])
    ruleset = shipped_rules()
    rule = adhoc_rule(
        'count(status == "error")',
        ruleset.datasets[DATASET],
        by=("table",),
        where=None,
        window=dt.timedelta(minutes=5),
    )
    series = (await evaluate(ae, ruleset, [rule]))[rule.name].series
    assert {labels: value.value for labels, value in series.items()} == {
        USERS: 0.0,
        (("table", "users\u0000"),): 1.0,
    }
