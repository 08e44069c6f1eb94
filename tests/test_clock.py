"""The clocks' waits: a driven FakeClock wakes sleepers in deadline order at their
deadlines; the real and scaled clocks never return before the deadline."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest

from alertd.clock import FakeClock, ScaledClock, SystemClock

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.anyio


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def test_sleepers_wake_in_deadline_order_each_at_its_deadline() -> None:
    clock = FakeClock(T0, autojump=False)
    woke: list[tuple[str, dt.datetime]] = []

    async def sleeper(name: str, seconds: float, then: float | None = None) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))
        if then is not None:  # what a woken task does runs before the next sleeper wakes
            await clock.sleep_until(clock.now() + dt.timedelta(seconds=then))
            woke.append((f"{name} again", clock.now()))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(sleeper, "c", 30)
        tasks.start_soon(sleeper, "a", 10, 5)
        tasks.start_soon(sleeper, "b", 20)
        tasks.start_soon(sleeper, "b2", 20)
        await clock.advance_to(at(25))
        assert woke == [("a", at(10)), ("a again", at(15)), ("b", at(20)), ("b2", at(20))]
        assert clock.now() == at(25)
        await clock.run_for(5)
    assert woke[-1] == ("c", at(30))


async def test_nothing_moves_until_the_clock_is_driven() -> None:
    clock = FakeClock(T0, autojump=False)
    woke = anyio.Event()

    async def sleeper() -> None:
        await clock.sleep(1)
        woke.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(sleeper)
        await clock.run_for(0.5)
        assert not woke.is_set()
        assert clock.now() == at(0.5)
        await clock.run_for(0.5)
        assert woke.is_set()


async def test_a_cancelled_sleeper_leaves_no_wake_up_behind() -> None:
    clock = FakeClock(T0, autojump=False)
    with anyio.move_on_after(0.01):  # real time: the fake clock never moves here
        await clock.sleep(10)
    await clock.advance_to(at(20))
    assert clock.now() == at(20)
    assert clock._sleepers == []


async def test_the_fake_clock_does_not_go_back() -> None:
    clock = FakeClock(T0, autojump=False)
    with pytest.raises(ValueError, match="does not go back"):
        await clock.advance_to(at(-1))


async def test_by_default_a_sleep_advances_the_clock_by_itself() -> None:
    clock = FakeClock(T0)
    await clock.sleep(7)
    await clock.sleep_until(at(10))
    await clock.sleep_until(at(3))  # past: no wait, no going back
    assert clock.now() == at(10)
    assert clock.slept == [7]


@pytest.mark.parametrize("speed", [1.0, 7.3, 60.0, 0.25])
async def test_a_scaled_clock_wakes_at_its_deadline_and_does_not_drift(speed: float) -> None:
    base = FakeClock(dt.datetime(2030, 1, 1, 0, 0, 0, 123457, tzinfo=dt.UTC))
    clock = ScaledClock(T0, speed, base)
    for tick in range(1, 2001):
        deadline = at(tick * 30)
        await clock.sleep_until(deadline)
        # Never short of the deadline, and late by less than one base microsecond's worth.
        assert dt.timedelta(0) <= clock.now() - deadline <= dt.timedelta(microseconds=speed + 1)


async def test_the_system_clock_never_returns_before_the_deadline() -> None:
    clock = SystemClock()
    for _ in range(3):
        deadline = clock.now() + dt.timedelta(milliseconds=20)
        await clock.sleep_until(deadline)
        assert clock.now() >= deadline
