"""How late each dataset's rows land, and so how far behind now each group evaluates.

AE makes a row visible some time after its timestamp, by an amount that varies. Every
tick's statement scans on to the wall-clock now and returns the newest timestamp it saw:
`now - newest` is the dataset's lag at no extra query. One reading is noisy (a quiet
second, a row that happened to land quickly), so the estimate is the largest reading of
the last few minutes: it rises at once when ingest slows, and falls back only once the
slow readings have aged out. A group waits for the slowest dataset it reads, plus a
margin for rows that land later than the freshest one, within [minimum, maximum].
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Iterable

# How long a reading counts towards the estimate.
MEMORY = dt.timedelta(minutes=5)
# Rows do not all land at once: the freshest row's lag understates the slowest's.
MARGIN = dt.timedelta(seconds=10)
# A delay that shrinks moves the evaluation time on faster than the clock; at this rate
# (seconds of delay per second) the group's grid points are still each evaluated.
FALL_RATE = 0.5


@dataclasses.dataclass(frozen=True)
class DelayBounds:
    """`auto`: follow the measured lag within [minimum, maximum]; else a fixed delay."""

    minimum: dt.timedelta
    maximum: dt.timedelta
    fixed: dt.timedelta | None = None


@dataclasses.dataclass
class _Readings:
    readings: deque[tuple[dt.datetime, dt.timedelta]] = dataclasses.field(default_factory=deque)


class LagEstimator:
    """The observed ingest lag per dataset, and the evaluation delay it calls for."""

    def __init__(
        self, bounds: DelayBounds, *, memory: dt.timedelta = MEMORY, margin: dt.timedelta = MARGIN
    ) -> None:
        self.bounds = bounds
        self.memory = memory
        self.margin = margin
        self._datasets: dict[str, _Readings] = {}
        # The last delay given to each set of datasets, and when.
        self._given: dict[frozenset[str], tuple[dt.datetime, dt.timedelta]] = {}

    @property
    def auto(self) -> bool:
        return self.bounds.fixed is None

    def observe(self, dataset: str, newest: dt.datetime | None, now: dt.datetime) -> None:
        """Record a tick's newest timestamp for `dataset`, seen at `now` (None: no rows)."""
        if newest is None:
            return  # an empty answer says nothing about the lag
        readings = self._datasets.setdefault(dataset, _Readings()).readings
        readings.append((now, max(now - newest, dt.timedelta(0))))
        while readings and readings[0][0] <= now - self.memory:
            readings.popleft()

    def lag(self, dataset: str) -> dt.timedelta | None:
        """The dataset's lag: the largest recent reading, or None before the first."""
        found = self._datasets.get(dataset)
        if found is None or not found.readings:
            return None
        return max(lag for _, lag in found.readings)

    def lags(self) -> dict[str, dt.timedelta]:
        return {name: lag for name in self._datasets if (lag := self.lag(name)) is not None}

    def delay(self, datasets: Iterable[str], now: dt.datetime) -> dt.timedelta:
        """How far behind `now` a group reading `datasets` evaluates.

        Fixed when so set; else the slowest dataset's lag plus the margin, within the
        bounds, rising at once and falling at FALL_RATE. Before any reading the maximum:
        no window is judged before it is known to be complete.
        """
        bounds = self.bounds
        if bounds.fixed is not None:
            return bounds.fixed
        names = frozenset(datasets)
        found = [lag for name in names if (lag := self.lag(name)) is not None]
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
