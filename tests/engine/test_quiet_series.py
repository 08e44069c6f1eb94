"""Series that stay clear take the short way through `step`: nothing built, nothing written.

The short way must decide exactly what the lifecycle would: checked here against `judge`
and `advance` themselves on random values, for every kind of rule it shortcuts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.engine.lifecycle import advance
from alertd.engine.step import carry, policy, step
from alertd.engine.verdict import judge
from alertd.model import AlertState, Status, fingerprint
from alertd.query.results import RuleResult, SeriesValue
from alertd.rules.ruleset import Rule
from tests.engine.timeline import T0, make_rule

INTERVAL = dt.timedelta(seconds=30)
USERS = (("table", "users"),)
KINDS = [
    f"    thresholds: {{{thresholds}}}\n    min_samples: {samples}\n    no_data: {no_data}\n"
    "    by: [table]\n    labels: {team: db}\n"
    for thresholds in ('warning: "> 150", critical: "> 200"', 'critical: "< 10"')
    for samples in (1, 20)
    for no_data in ("keep", "ok", "alert")
]


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> list[Rule]:
    return [
        make_rule(tmp_path_factory.mktemp("rule"), "    value: p95(duration)\n" + kind)
        for kind in KINDS
    ]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    index=st.integers(0, len(KINDS) - 1),
    value=st.none() | st.floats(-50, 400, allow_nan=False),
    samples=st.integers(0, 40),
    present=st.booleans(),
)
def test_a_new_series_moves_exactly_when_the_lifecycle_says_so(
    rules: list[Rule], index: int, value: float | None, samples: int, present: bool
) -> None:
    rule = rules[index]
    series = {USERS: SeriesValue(value, samples)} if present else {}
    outcome = step([rule], {rule.name: RuleResult(rule, series)}, {}, T0, interval=INTERVAL)
    # What the full lifecycle does with each alert the tick could raise.
    expected_states: dict[str, AlertState] = {}
    expected_changes = []
    labels_seen = [(("table", "users"), ("team", "db"))] if present else [(("team", "db"),)]
    for labels in labels_seen:
        if not present and rule.no_data != "alert":
            continue
        fresh = AlertState(fingerprint(rule.name, labels), rule.name, labels, Status.INACTIVE)
        verdict = judge(rule, series.get(USERS), firing=False)
        after, transition = advance(fresh, verdict, policy(rule, INTERVAL), T0)
        if after.status is not Status.INACTIVE:
            expected_states[after.fingerprint] = after
        if transition is not None:
            expected_changes.append(transition)
    assert outcome.states == expected_states
    assert outcome.transitions == expected_changes
    assert outcome.removed == []


def test_only_an_active_alert_has_its_values_kept_as_points(tmp_path: Path) -> None:
    rule = make_rule(
        tmp_path,
        '    value: p95(duration)\n    thresholds: {critical: "> 200"}\n    for: 30s\n'
        "    by: [table]\n    labels: {team: db}\n",
    )
    quiet = (("table", "orders"),)
    points_per_tick: list[list[tuple[str, float | None]]] = []
    states: dict[str, AlertState] = {}
    for tick, users in enumerate((100.0, 250.0, 250.0, 250.0, 100.0, 100.0)):
        ticked = {USERS: SeriesValue(users, 50), quiet: SeriesValue(50.0, 50)}
        result = {rule.name: RuleResult(rule, ticked)}
        outcome = step([rule], result, states, T0 + tick * INTERVAL, interval=INTERVAL)
        states = carry(states, outcome)
        points_per_tick.append([(p.fingerprint, p.value) for p in outcome.points])
    users_fp = fingerprint(rule.name, (*USERS, ("team", "db")))
    # Pending, firing, firing, then the tick it resolves; the clear series never.
    assert points_per_tick == [
        [],
        [(users_fp, 250.0)],
        [(users_fp, 250.0)],
        [(users_fp, 250.0)],
        [(users_fp, 100.0)],
        [],
    ]
    assert states == {}
