"""Time as an injected dependency: the wall clock for the daemon, a fake one for tests."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import anyio

UTC = dt.UTC


class Clock(Protocol):
    """Tells the time and waits; the only way code below the daemon learns what time it is."""

    def now(self) -> dt.datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)  # noqa: TID251 - the one place the wall clock is read

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to; `sleep` advances it instead of waiting."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(max(0.0, seconds))
        await anyio.lowlevel.checkpoint()


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
