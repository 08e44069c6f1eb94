"""How late each dataset's rows land, and so how far behind now each group evaluates.

AE makes a row visible some time after its timestamp, by an amount that varies. Every
tick's statement scans on to the wall-clock now and returns the newest timestamp it saw:
`now - newest` is the dataset's lag at no extra query. Rows do not all land after the same
lag, though: the statement also counts the rows that landed after its windows' end, and
set against the rows per second of the window, that fill says how far back the data is
complete (rows landing evenly spread between the freshest row's lag and that age). One
reading is noisy, so the estimate is the largest reading of the last few minutes: it rises
at once when ingest slows, and falls back only once the slow readings have aged out. A
group waits for the slowest dataset it reads to be complete, plus a margin, within
[minimum, maximum].

A quiet dataset's newest row is old because nothing happened, not because rows are late.
Each dataset's rate of rows is learned from the windows its statements counted over the
last quarter hour, and a gap without rows is read as lag only when a steady writer at that
rate would leave such a gap less than once in a thousand times. A dataset writing a row a
minute is thus never measured by its own gaps (it waits as long as the account's measured
datasets, or the maximum); one that stops writing reads as lagging only until its newest
row leaves the statement's scan (its longest window past the delay) and that last reading
ages out, and sooner once the empty windows have brought its learned rate down.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import deque
from collections.abc import Iterable

# How long a reading counts towards the estimate.
MEMORY = dt.timedelta(minutes=5)
# Room for a second's rounding of the timestamps and a little noise in the fill (the
# largest reading of the last minutes already leans towards waiting longer).
MARGIN = dt.timedelta(seconds=2)
# A delay that shrinks moves the evaluation time on faster than the clock; at this rate
# (seconds of delay per second) the group's grid points are still each evaluated.
FALL_RATE = 0.5
# How long the rows a statement counted in its window teach the dataset's rate of rows.
RATE_MEMORY = dt.timedelta(minutes=15)
# Rows a steady writer puts in a gap before the gap is read as lag: with this many expected,
# a gap without any comes about once in a thousand times (e^-6.9).
EXPECTED_IN_GAP = math.log(1000)


@dataclasses.dataclass(frozen=True)
class DelayBounds:
    """`auto`: follow the measured lag within [minimum, maximum]; else a fixed delay."""

    minimum: dt.timedelta
    maximum: dt.timedelta
    fixed: dt.timedelta | None = None


@dataclasses.dataclass(frozen=True)
class Fill:
    """What a tick's statement saw past its windows' end (at `at`), for `window` before it:
    the raw rows before the end, and those after it (landed by now)."""

    at: dt.datetime
    window: dt.timedelta
    before: int
    after: int


@dataclasses.dataclass(frozen=True)
class _Reading:
    at: dt.datetime
    lag: dt.timedelta  # the freshest row's
    complete: dt.timedelta  # the age from which every row has landed


@dataclasses.dataclass(frozen=True)
class _Counted:
    at: dt.datetime
    rows: int
    seconds: float


@dataclasses.dataclass
class _Readings:
    readings: deque[_Reading] = dataclasses.field(default_factory=deque)
    # The rows each recent statement counted in its window, which the rate is learned from.
    counted: deque[_Counted] = dataclasses.field(default_factory=deque)

    def learn(self, fill: Fill, now: dt.datetime, memory: dt.timedelta) -> None:
        self.counted.append(_Counted(now, fill.before, max(fill.window.total_seconds(), 1.0)))
        while self.counted and self.counted[0].at <= now - memory:
            self.counted.popleft()

    @property
    def rate(self) -> float:
        """Rows per second over the windows counted lately (they overlap, which weighs
        every second alike and so leaves the mean as it is)."""
        seconds = sum(c.seconds for c in self.counted)
        return sum(c.rows for c in self.counted) / seconds if seconds else 0.0


def _late(rate: float, lag: dt.timedelta, fill: Fill, margin: dt.timedelta) -> bool:
    """Whether a gap of `lag` since the newest row means rows are late, for a dataset
    writing `rate` rows a second: too many rows were due in it, or rows landed past the
    windows' end and come closer together than the margin (the gap is the lag, give or
    take the margin)."""
    if rate * lag.total_seconds() >= EXPECTED_IN_GAP:
        return True
    return fill.after > 0 and rate * margin.total_seconds() >= 1


def complete_age(lag: dt.timedelta, now: dt.datetime, fill: Fill | None) -> dt.timedelta:
    """The age past which the rows are all in, from the fill of the seconds after `at`.

    With rows landing evenly spread between `lag` and that age C, the rows seen after the
    end, in seconds of traffic at the window's rate, are the area under the landed fraction
    from `lag` to the delay d = now - at: (d - lag)^2 / 2(C - lag) while C > d, and
    d - (C + lag) / 2 once C <= d. Without rows after the end, or at a delay shorter than the
    lag, nothing more than the lag is known.
    """
    if fill is None or fill.before <= 0 or fill.after <= 0:
        return lag
    delay = (now - fill.at).total_seconds()
    fresh = lag.total_seconds()
    if delay <= fresh:
        return lag
    landed = fill.after * fill.window.total_seconds() / fill.before
    if landed >= (delay - fresh) / 2:
        age = 2 * (delay - landed) - fresh
    else:
        age = fresh + (delay - fresh) ** 2 / (2 * landed)
    return max(lag, dt.timedelta(seconds=age))


class LagEstimator:
    """The observed ingest lag per dataset, and the evaluation delay it calls for."""

    def __init__(
        self,
        bounds: DelayBounds,
        *,
        memory: dt.timedelta = MEMORY,
        margin: dt.timedelta = MARGIN,
        rate_memory: dt.timedelta = RATE_MEMORY,
    ) -> None:
        self.bounds = bounds
        self.memory = memory
        self.margin = margin
        self.rate_memory = rate_memory
        self._datasets: dict[str, _Readings] = {}
        # The last delay given to each set of datasets, and when.
        self._given: dict[frozenset[str], tuple[dt.datetime, dt.timedelta]] = {}

    @property
    def auto(self) -> bool:
        return self.bounds.fixed is None

    def observe(
        self,
        dataset: str,
        newest: dt.datetime | None,
        now: dt.datetime,
        fill: Fill | None = None,
    ) -> None:
        """Record a tick's newest timestamp for `dataset`, seen at `now` (None: no rows),
        and the fill of the seconds after its windows' end."""
        found = self._datasets.setdefault(dataset, _Readings())
        readings = found.readings
        # Aged out at every answer, read or not: a dataset gone quiet keeps no old lag.
        while readings and readings[0].at <= now - self.memory:
            readings.popleft()
        if fill is not None:
            # An empty window teaches too: a dataset that stops writing grows quiet.
            found.learn(fill, now, self.rate_memory)
        if newest is None:
            return  # an empty answer says nothing about the lag
        lag = max(now - newest, dt.timedelta(0))
        if fill is not None and not _late(found.rate, lag, fill, self.margin):
            return
        readings.append(_Reading(now, lag, complete_age(lag, now, fill)))

    def lag(self, dataset: str) -> dt.timedelta | None:
        """The dataset's lag: the largest recent reading, or None before the first."""
        found = self._datasets.get(dataset)
        if found is None or not found.readings:
            return None
        return max(reading.lag for reading in found.readings)

    def complete(self, dataset: str) -> dt.timedelta | None:
        """The age from which the dataset's rows have all landed, as recently seen."""
        found = self._datasets.get(dataset)
        if found is None or not found.readings:
            return None
        return max(reading.complete for reading in found.readings)

    def lags(self) -> dict[str, dt.timedelta]:
        return {name: lag for name in self._datasets if (lag := self.lag(name)) is not None}

    def delay(self, datasets: Iterable[str], now: dt.datetime) -> dt.timedelta:
        """How far behind `now` a group reading `datasets` evaluates.

        Fixed when so set; else the age from which the slowest dataset's rows are all in,
        plus the margin, within the
        bounds, rising at once and falling at FALL_RATE. Before any reading the maximum:
        no window is judged before it is known to be complete.
        """
        bounds = self.bounds
        if bounds.fixed is not None:
            return bounds.fixed
        names = frozenset(datasets)
        found = [age for name in names if (age := self.complete(name)) is not None]
        if len(found) < len(names):
            # A dataset too quiet to measure lands as late as the others do, as far as
            # one can tell: AE ingests an account's datasets alike.
            found.extend(age for name in self._datasets if (age := self.complete(name)) is not None)
        if not found:
            return bounds.maximum
        wanted = min(max(max(found) + self.margin, bounds.minimum), bounds.maximum)
        given = self._given.get(names)
        if given is not None and wanted < given[1]:
            since, before = given
            wanted = max(wanted, before - FALL_RATE * max(now - since, dt.timedelta(0)))
        self._given[names] = (now, wanted)
        return wanted

    def lagging(self, dataset: str) -> bool:
        """Whether the dataset lags more than the longest delay: windows end incomplete."""
        lag = self.lag(dataset)
        return lag is not None and lag > self.bounds.maximum
