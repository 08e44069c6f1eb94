import datetime as dt
from pathlib import Path
from typing import Any, cast

import pytest
import structlog

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.engine.step import Step
from alertd.engine.timing import evaluation_time, grid
from alertd.rules.ruleset import Group
from tests.engine.timeline import T0, make_rule


class RecordingEvaluator:
    """Records the evaluation times it is asked for; can be told to raise once."""

    def __init__(self) -> None:
        self.ticks: list[dt.datetime] = []
        self.fail_next = False

    async def tick(self, group: Group, at: dt.datetime) -> Step:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("a bug")
        self.ticks.append(at)
        return Step()


def make(
    tmp_path: Path, clock: FakeClock, *, wall: FakeClock | None = None, speed: float = 1.0
) -> tuple[GroupScheduler, RecordingEvaluator, Group]:
    rule = make_rule(tmp_path, '    value: count()\n    thresholds: {critical: "> 1"}\n')
    group = Group("g", dt.timedelta(seconds=30), (rule,), rule.location)
    evaluator = RecordingEvaluator()
    steps: list[Step] = []

    async def on_step(_: Group, step: Step) -> None:
        steps.append(step)

    scheduler = GroupScheduler(
        cast(Evaluator, evaluator),
        clock,
        delay=dt.timedelta(seconds=60),
        on_step=on_step,
        speed=speed,
        wall=wall,
    )
    return scheduler, evaluator, group


def test_evaluation_time_is_now_minus_delay_on_the_interval_grid() -> None:
    now = dt.datetime(2026, 11, 28, 10, 0, 47, 123456, tzinfo=dt.UTC)
    at = evaluation_time(now, dt.timedelta(seconds=30), dt.timedelta(seconds=60))
    assert at == dt.datetime(2026, 11, 28, 9, 59, 30, tzinfo=dt.UTC)


def test_grid_covers_the_range_inclusively() -> None:
    points = list(
        grid(T0 + dt.timedelta(seconds=10), T0 + dt.timedelta(seconds=90), dt.timedelta(seconds=30))
    )
    assert points == [T0 + dt.timedelta(seconds=s) for s in (30, 60, 90)]


@pytest.mark.anyio
async def test_ticks_follow_the_clock_and_never_repeat_a_grid_point(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    scheduler, evaluator, group = make(tmp_path, clock)
    await scheduler.run_group(group)
    clock.advance(10)
    await scheduler.run_group(group)  # same grid point: skipped
    clock.advance(20)
    await scheduler.run_group(group)
    assert evaluator.ticks == [T0 - dt.timedelta(seconds=60), T0 - dt.timedelta(seconds=30)]
    assert scheduler.missed == 0


@pytest.mark.anyio
async def test_a_missed_tick_is_counted_and_logged(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    scheduler, _, group = make(tmp_path, clock)
    await scheduler.run_group(group)
    clock.advance(120)
    with structlog.testing.capture_logs() as logs:
        await scheduler.run_group(group)
    assert scheduler.missed == 3
    assert any(entry["event"] == "tick.missed" and entry["skipped"] == 3 for entry in logs)


@pytest.mark.anyio
async def test_a_bug_in_a_tick_is_logged_and_the_next_tick_runs(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    scheduler, evaluator, group = make(tmp_path, clock)
    evaluator.fail_next = True
    with structlog.testing.capture_logs() as logs:
        await scheduler.run_group(group)
    bug: dict[str, Any] = next(e for e in logs if e["event"] == "tick.bug")
    assert bug["group"] == "g"
    assert bug["log_level"] == "error"
    await scheduler.run_group(group)  # the same grid point is retried, not skipped
    assert evaluator.ticks == [T0 - dt.timedelta(seconds=60)]


@pytest.mark.anyio
@pytest.mark.parametrize("speed", [1.0, 10.0])
async def test_jobs_fire_at_grid_instants_plus_the_delay(tmp_path: Path, speed: float) -> None:
    clock = FakeClock(T0 + dt.timedelta(seconds=17))
    wall = FakeClock(dt.datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=dt.UTC))
    scheduler, _, group = make(tmp_path, clock, wall=wall, speed=speed)
    trigger = scheduler.trigger(group)
    fires = [trigger.get_next_fire_time(None, wall.now())]
    for _ in range(3):
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1]))
    # Back on the evaluation clock, each run's `now - delay` is the next grid point.
    evaluated = [clock.now() + (fire - wall.now()) * speed - scheduler.delay for fire in fires]
    assert [at - T0 for at in evaluated] == [dt.timedelta(seconds=s) for s in (-30, 0, 30, 60)]


@pytest.mark.anyio
async def test_a_tick_fired_a_hair_before_its_instant_still_evaluates_its_grid_point(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    scheduler, evaluator, group = make(tmp_path, clock)
    await scheduler.run_group(group)
    clock.advance(30 - 1e-6)  # timer rounding: the clock reads a microsecond short
    await scheduler.run_group(group)
    assert evaluator.ticks == [T0 - dt.timedelta(seconds=60), T0 - dt.timedelta(seconds=30)]
