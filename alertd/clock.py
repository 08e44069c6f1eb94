"""Time as an injected dependency: the wall clock for the daemon, a fake one for tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import math
from typing import Protocol

import anyio

UTC = dt.UTC
# More rounds than this of tasks waking one another, with no moment where all wait, is a
# task that never blocks: a driven FakeClock says so rather than hang the test.
SETTLE_ROUNDS = 10_000


class Clock(Protocol):
    """Tells the time and waits; the only way code below the daemon learns what time it is."""

    def now(self) -> dt.datetime: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, deadline: dt.datetime) -> None:
        """Return once `now()` has reached `deadline` (at once if it already has)."""
        ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)  # noqa: TID251 - the one place the wall clock is read

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: dt.datetime) -> None:
        # The event loop's timer runs on the monotonic clock and may wake a hair early by
        # this one: wait again for what is left, so `now()` never reads short on return.
        while (left := (deadline - self.now()).total_seconds()) > 0:  # noqa: ASYNC110 - a deadline, not an event
            await anyio.sleep(left)


class FakeClock:
    """A clock that moves only when told to.

    With `autojump` (the default), `sleep` advances the clock instead of waiting: a task
    alone with the clock runs through its waits at once.

    Without it, sleepers wait until a test drives the clock with `advance_to`/`run_for`,
    which wakes them one at a time in deadline order, each at its own instant, and lets
    the woken tasks run until all wait again before moving on. "All wait" is judged on the
    event loop: a task waiting on a thread (`anyio.to_thread`, the SQLite store) or on a
    socket counts as waiting, so the time may move past it before it answers; drive only
    code whose waits are on this clock or on other tasks (a MemoryStore, in-process
    sources and receivers).
    """

    def __init__(self, start: dt.datetime, *, autojump: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start
        self.autojump = autojump
        self.slept: list[float] = []
        self._sleepers: list[tuple[dt.datetime, int, anyio.Event]] = []
        self._sequence = itertools.count()

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the time at once, waking nobody (for code that does not sleep)."""
        self._now += dt.timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.sleep_until(self._now + dt.timedelta(seconds=max(0.0, seconds)))

    async def sleep_until(self, deadline: dt.datetime) -> None:
        if self.autojump or deadline <= self._now:
            self._now = max(self._now, deadline)
            await anyio.lowlevel.checkpoint()
            return
        entry = (deadline, next(self._sequence), anyio.Event())
        heapq.heappush(self._sleepers, entry)
        try:
            await entry[2].wait()
        finally:
            if not entry[2].is_set():  # cancelled: the sleeper is gone
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)

    async def advance_to(self, instant: dt.datetime) -> None:
        """Move the time to `instant`, running every sleeper due by then at its deadline."""
        if instant < self._now:
            raise ValueError(f"the clock reads {self._now.isoformat()}; it does not go back")
        await settle()
        while self._sleepers and self._sleepers[0][0] <= instant:
            deadline, _, woken = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            woken.set()
            await settle()
        self._now = instant

    async def run_for(self, seconds: float) -> None:
        await self.advance_to(self._now + dt.timedelta(seconds=seconds))


async def wait_first(clock: Clock, deadline: dt.datetime | None, *events: anyio.Event) -> None:
    """Return when one of `events` is set or `clock` reaches `deadline`, whichever is first
    (with neither deadline nor events, at once)."""
    async with anyio.create_task_group() as tasks:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            tasks.cancel_scope.cancel()

        if deadline is not None:

            async def timer() -> None:
                await clock.sleep_until(deadline)
                tasks.cancel_scope.cancel()

            tasks.start_soon(timer)
        for event in events:
            tasks.start_soon(wait, event)


async def settle() -> None:
    """Let every task that can run, run, until all of them wait.

    On asyncio a task that can run has a callback in the loop's ready queue; when this
    task resumes from a checkpoint to find that queue empty, every other task waits (on
    an event, a lock, a timer, a thread or a socket). anyio's `wait_all_tasks_blocked`
    says the same but sleeps a tenth of a second of real time whenever a task is running.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another backend (trio), which knows exactly
        await anyio.wait_all_tasks_blocked()
        return
    ready = getattr(loop, "_ready", None)
    if ready is None:  # an event loop without asyncio's ready queue
        await anyio.wait_all_tasks_blocked()
        return
    for _ in range(SETTLE_ROUNDS):
        await anyio.lowlevel.checkpoint()
        if not ready:
            return
    raise RuntimeError(f"tasks kept running for {SETTLE_ROUNDS} rounds without waiting")


class ScaledClock:
    """Time that runs `speed` times faster than the wall clock, from `start` on.

    The demo uses it to play half an hour of incidents in a few minutes; everything that
    takes its time from a Clock keeps working unchanged.
    """

    def __init__(self, start: dt.datetime, speed: float, base: Clock | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._base = base or SystemClock()
        self._start = start
        self._origin = self._base.now()

    def now(self) -> dt.datetime:
        return self._start + (self._base.now() - self._origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        await self._base.sleep(max(0.0, seconds) / self.speed)

    async def sleep_until(self, deadline: dt.datetime) -> None:
        # The base instant at which `now()` reads `deadline`, computed from the origin each
        # time (no drift from summed sleeps) and rounded up so `now()` never reads short.
        micros = (deadline - self._start) / dt.timedelta(microseconds=1)
        at = self._origin + dt.timedelta(microseconds=math.ceil(micros / self.speed))
        await self._base.sleep_until(at)
