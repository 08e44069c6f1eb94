import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from typing import Any, cast

import anyio
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
    """Records the evaluation times it is asked for, and the instants each tick starts and
    ends; can be told to raise once, or to take `work` seconds of the clock per tick."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.ticks: list[dt.datetime] = []
        self.fail_next = False
        self.work: dict[str, float] = {}
        self.spans: list[tuple[str, dt.datetime, dt.datetime]] = []

    async def tick(self, group: Group, at: dt.datetime, *, now: dt.datetime | None = None) -> Step:
        started = self.clock.now()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("a bug")
        if group.name in self.work:
            await self.clock.sleep(self.work[group.name])
        self.ticks.append(at)
        self.spans.append((group.name, started, self.clock.now()))
        return Step()


def make(
    tmp_path: Path, clock: FakeClock, *, concurrency: int = 2
) -> tuple[GroupScheduler, RecordingEvaluator, Group]:
    rule = make_rule(tmp_path, '    value: count()\n    thresholds: {critical: "> 1"}\n')
    group = Group("g", dt.timedelta(seconds=30), (rule,), rule.location)
    evaluator = RecordingEvaluator(clock)
    steps: list[Step] = []

    async def on_step(_: Group, step: Step) -> None:
        steps.append(step)

    scheduler = GroupScheduler(
        cast(Evaluator, evaluator),
        clock,
        delay=dt.timedelta(seconds=60),
        on_step=on_step,
        concurrency=concurrency,
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


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def run_for(
    scheduler: GroupScheduler,
    clock: FakeClock,
    groups: list[Group],
    seconds: float,
    *,
    then: float = 0,
) -> None:
    """Tick `groups` for `seconds` of the clock, then shut the scheduler down, the clock
    running `then` seconds more for a tick in flight to finish."""
    async with anyio.create_task_group() as tasks:
        await tasks.start(scheduler.run, groups)
        await clock.run_for(seconds)
        tasks.start_soon(scheduler.shutdown)  # it waits for the tick in flight
        await clock.run_for(then)


@pytest.mark.anyio
async def test_each_grid_point_is_evaluated_once_at_its_instant_plus_the_delay(
    tmp_path: Path,
) -> None:
    clock = FakeClock(at(17), autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock)
    await run_for(scheduler, clock, [group], 120 - 17)
    # At 17 s, `now - delay` is -43 s: the first grid point at or after it is -30 s.
    assert evaluator.ticks == [at(s) for s in (-30, 0, 30, 60)]
    assert [started for _, started, _ in evaluator.spans] == [at(s) for s in (30, 60, 90, 120)]
    assert scheduler.missed == 0


@pytest.mark.anyio
async def test_a_tick_that_overruns_its_interval_counts_the_grid_points_it_passed(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0, autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock)
    evaluator.work["g"] = 70
    with structlog.testing.capture_logs() as logs:
        await run_for(scheduler, clock, [group], 150, then=60)
    # The tick at 0 s ends at 70 s; the next starts on the grid at 90 s, and says that
    # the grid points at 30 s and 60 s went by.
    assert [(s, e) for _, s, e in evaluator.spans] == [(at(0), at(70)), (at(90), at(160))]
    assert evaluator.ticks == [at(-60), at(30)]
    assert scheduler.missed == 2
    assert [e["skipped"] for e in logs if e["event"] == "tick.missed"] == [2]


@pytest.mark.anyio
async def test_a_bug_in_a_scheduled_tick_is_logged_and_the_next_grid_point_ticks(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0, autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock)
    evaluator.fail_next = True
    with structlog.testing.capture_logs() as logs:
        await run_for(scheduler, clock, [group], 60)
    assert [(e["event"], e["at"]) for e in logs if e["event"] == "tick.bug"] == [
        ("tick.bug", at(-60).isoformat())
    ]
    assert evaluator.ticks == [at(-30), at(0)]


@pytest.mark.anyio
async def test_groups_beyond_the_concurrency_limit_wait_their_turn(tmp_path: Path) -> None:
    clock = FakeClock(T0, autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock, concurrency=1)
    other = dataclasses.replace(group, name="h")
    evaluator.work.update(g=10, h=10)
    await run_for(scheduler, clock, [group, other], 30, then=30)
    assert [(name, s, e) for name, s, e in evaluator.spans] == [
        ("g", at(0), at(10)),
        ("h", at(10), at(20)),
        ("g", at(30), at(40)),
        ("h", at(40), at(50)),
    ]
    assert evaluator.ticks == [at(-60), at(-60), at(-30), at(-30)]


@pytest.mark.anyio
async def test_ticks_of_one_group_never_overlap(tmp_path: Path) -> None:
    clock = FakeClock(T0, autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock)
    evaluator.work["g"] = 20
    async with anyio.create_task_group() as tasks:
        await tasks.start(scheduler.run, [group])
        await clock.run_for(5)
        # A reload with a new interval starts a new task while the old one's tick runs.
        scheduler.schedule([dataclasses.replace(group, interval=dt.timedelta(seconds=10))])
        await clock.run_for(25)
        tasks.start_soon(scheduler.shutdown)
        await clock.run_for(60)
    spans = [(s, e) for _, s, e in evaluator.spans]
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    assert spans[:2] == [(at(0), at(20)), (at(20), at(40))]


@pytest.mark.anyio
async def test_a_reload_keeps_the_grid_of_unchanged_groups_and_replaces_the_rest(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0, autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock)
    gone = dataclasses.replace(group, name="gone")
    new = dataclasses.replace(group, name="new", interval=dt.timedelta(seconds=20))
    async with anyio.create_task_group() as tasks:
        await tasks.start(scheduler.run, [group, gone])
        await clock.run_for(45)
        scheduler.schedule([group, new])
        await clock.run_for(45)
        await scheduler.shutdown()
    ticked = {
        name: [s - T0 for n, s, _ in evaluator.spans if n == name] for name in ("g", "gone", "new")
    }
    assert ticked == {
        "g": [dt.timedelta(seconds=s) for s in (0, 30, 60, 90)],
        "gone": [dt.timedelta(seconds=s) for s in (0, 30)],
        "new": [dt.timedelta(seconds=s) for s in (60, 80)],
    }
    assert scheduler.missed == 0


@pytest.mark.anyio
async def test_shutdown_waits_for_the_tick_in_flight_and_schedules_no_more(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0, autojump=False)
    scheduler, evaluator, group = make(tmp_path, clock)
    evaluator.work["g"] = 10
    stopped: list[dt.datetime] = []

    async def stop() -> None:
        await scheduler.shutdown()
        stopped.append(clock.now())

    async with anyio.create_task_group() as tasks:
        await tasks.start(scheduler.run, [group])
        await clock.run_for(35)  # the tick at 30 s runs until 40 s
        tasks.start_soon(stop)
        await clock.run_for(120)
    assert stopped == [at(40)]
    assert [(s, e) for _, s, e in evaluator.spans] == [(at(0), at(10)), (at(30), at(40))]


def test_two_groups_of_one_name_are_refused_rather_than_one_left_unticked(
    tmp_path: Path,
) -> None:
    scheduler, _, group = make(tmp_path, FakeClock(T0))
    with pytest.raises(ValueError, match="group names repeat"):
        scheduler.schedule([group, dataclasses.replace(group, interval=dt.timedelta(minutes=1))])


class Leases:
    """An ownership whose leases a test hands out and takes back, as other replicas would."""

    replica = "r1"
    shared = True
    leader = None

    def __init__(self) -> None:
        self.tokens: dict[str, int] = {}
        self.live = ["r1"]

    def want(self, groups: Any) -> None: ...

    def token(self, lease: str) -> int | None:
        return self.tokens.get(lease)

    def held(self) -> list[str]:
        return sorted(self.tokens)

    async def run(self) -> None: ...


class AdoptingEvaluator(RecordingEvaluator):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.adopted = 0

    async def adopt(self) -> None:
        self.adopted += 1


@pytest.mark.anyio
async def test_a_group_is_ticked_only_under_its_lease_and_adopted_from_the_store_when_taken(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    rule = make_rule(tmp_path, '    value: count()\n    thresholds: {critical: "> 1"}\n')
    group = Group("g", dt.timedelta(seconds=30), (rule,), rule.location)
    evaluator = AdoptingEvaluator(clock)
    leases = Leases()

    async def on_step(_: Group, step: Step) -> None: ...

    scheduler = GroupScheduler(
        cast(Evaluator, evaluator),
        clock,
        delay=dt.timedelta(seconds=60),
        on_step=on_step,
        ownership=leases,
    )
    await scheduler.run_group(group)  # another replica holds it
    assert (evaluator.ticks, evaluator.adopted) == ([], 0)
    leases.tokens["group:g"] = 7
    clock.advance(30)
    await scheduler.run_group(group)
    clock.advance(30)
    await scheduler.run_group(group)  # the same token: nothing to adopt again
    assert (len(evaluator.ticks), evaluator.adopted) == (2, 1)
    leases.tokens["group:g"] = 9  # lost, and taken back: another may have ticked between
    clock.advance(30)
    await scheduler.run_group(group)
    assert (len(evaluator.ticks), evaluator.adopted) == (3, 2)
