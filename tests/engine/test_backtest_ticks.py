import datetime as dt
from pathlib import Path

from alertd.engine.backtest import ticks
from alertd.rules.ruleset import Group
from tests.engine.timeline import T0, make_rule


def test_every_group_ticks_on_its_own_grid_in_time_order(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, '    value: count()\n    thresholds: {critical: "> 1"}\n')
    fast = Group("fast", dt.timedelta(seconds=30), (rule,), rule.location)
    slow = Group("slow", dt.timedelta(seconds=60), (rule,), rule.location)
    got = [
        (at - T0, g.name) for at, g in ticks((fast, slow), T0, T0 + dt.timedelta(seconds=90), None)
    ]
    seconds = [(int(d.total_seconds()), name) for d, name in got]
    assert seconds == [
        (0, "fast"),
        (0, "slow"),
        (30, "fast"),
        (60, "fast"),
        (60, "slow"),
        (90, "fast"),
    ]


def test_step_replaces_every_interval(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, '    value: count()\n    thresholds: {critical: "> 1"}\n')
    group = Group("g", dt.timedelta(seconds=60), (rule,), rule.location)
    got = [
        at for at, _ in ticks((group,), T0, T0 + dt.timedelta(seconds=40), dt.timedelta(seconds=20))
    ]
    assert got == [T0, T0 + dt.timedelta(seconds=20), T0 + dt.timedelta(seconds=40)]


def test_a_step_is_the_interval_the_ticks_are_judged_at(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, '    value: count()\n    thresholds: {critical: "> 1"}\n')
    group = Group("g", dt.timedelta(seconds=30), (rule,), rule.location)
    step = dt.timedelta(minutes=15)
    got = {g.interval for _, g in ticks((group,), T0, T0 + dt.timedelta(hours=1), step)}
    assert got == {step}  # so a coarse step is not taken for data gone stale
