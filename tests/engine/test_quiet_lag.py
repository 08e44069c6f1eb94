"""Quiet datasets and the lag estimator, tick by tick on a fake clock: each tick's
statement sees what the evaluator would (the rows landed by now since its window's start,
counted before and after the window's end), with rows landing a fixed time late."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field

from alertd.engine.freshness import MEMORY, DelayBounds, Fill, LagEstimator

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
TICK = dt.timedelta(seconds=30)
WINDOW = dt.timedelta(minutes=5)
INGEST_LAG = dt.timedelta(seconds=30)
# A tight maximum: a gap between a quiet dataset's rows read as lag would pass it.
BOUNDS = DelayBounds(minimum=dt.timedelta(seconds=10), maximum=dt.timedelta(seconds=60))


def s(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


@dataclass
class Writer:
    """A dataset's rows by timestamp; each lands INGEST_LAG after it."""

    name: str
    times: list[dt.datetime] = field(default_factory=list)

    def every(self, step: dt.timedelta, start: dt.datetime, end: dt.datetime) -> Writer:
        at = start
        while at < end:
            self.times.append(at)
            at += step
        return self

    def observe(self, lags: LagEstimator, now: dt.datetime, delay: dt.timedelta) -> None:
        """What one tick's statement, whose windows end `delay` before now, tells `lags`."""
        end = now - delay
        first = bisect.bisect_right(self.times, end - WINDOW)
        last = bisect.bisect_right(self.times, now - INGEST_LAG)  # landed by now
        landed = self.times[first:last]
        before = bisect.bisect_right(landed, end)
        newest = landed[-1] if landed else None
        lags.observe(self.name, newest, now, Fill(end, WINDOW, before, len(landed) - before))


@dataclass
class Seen:
    delay: dt.timedelta
    lagging: bool
    lag: dt.timedelta | None


def play(lags: LagEstimator, writers: list[Writer], watched: str, end: dt.datetime) -> list[Seen]:
    """Tick from T0 to `end`; at each tick, the delay a group reading `watched` evaluates at,
    and whether `watched` is called lagging."""
    seen = []
    now = T0
    while now <= end:
        delay = lags.delay([watched], now)
        for writer in writers:
            writer.observe(lags, now, lags.delay([writer.name], now))
        seen.append(Seen(delay, lags.lagging(watched), lags.lag(watched)))
        now += TICK
    return seen


def test_a_dataset_writing_a_row_a_minute_is_not_lagging_and_waits_for_its_rows() -> None:
    lags = LagEstimator(BOUNDS)
    quiet = Writer("quiet").every(s(60), T0 - WINDOW, T0 + s(3600))

    seen = play(lags, [quiet], "quiet", T0 + s(3600))

    assert not any(tick.lagging for tick in seen)
    # Its gaps are never read as lag, so with nothing else measured it waits the longest
    # delay: every row before the window's end has landed when the window is judged.
    assert {tick.lag for tick in seen} == {None}
    assert {tick.delay for tick in seen} == {BOUNDS.maximum}


def test_a_quiet_dataset_waits_as_long_as_the_accounts_measured_datasets() -> None:
    lags = LagEstimator(BOUNDS)
    quiet = Writer("quiet").every(s(60), T0 - WINDOW, T0 + s(3600))
    busy = Writer("api").every(s(0.5), T0 - WINDOW, T0 + s(3600))

    seen = play(lags, [busy, quiet], "quiet", T0 + s(3600))

    assert not any(tick.lagging for tick in seen)
    assert lags.lag("api") == INGEST_LAG
    # After the first tick (the maximum, before any reading) the quiet dataset's groups
    # wait as long as the busy one's rows take to land: never less.
    assert all(tick.delay >= INGEST_LAG for tick in seen)
    assert seen[-1].delay < BOUNDS.maximum


def test_a_dataset_that_stops_writing_reads_as_lagging_only_until_its_last_rows_age_out() -> None:
    lags = LagEstimator(BOUNDS)
    stop = T0 + s(1200)
    stopped = Writer("api").every(s(1), T0 - WINDOW, stop)

    seen = play(lags, [stopped], "api", T0 + s(3600))

    times = [T0 + TICK * i for i in range(len(seen))]
    lagging = [at for at, tick in zip(times, seen, strict=True) if tick.lagging]
    # While its newest row is still in the statement's scan, a dataset that stops cannot
    # be told from one whose rows are late: it is called lagging for a while...
    assert lagging
    assert min(lagging) > stop
    # ...until that row leaves the scan (the window past the longest delay) and the last
    # reading ages out; from then on it is quiet, with no lag at all.
    assert max(lagging) < stop + WINDOW + BOUNDS.maximum + INGEST_LAG + MEMORY
    assert seen[-1].lag is None
    assert not seen[-1].lagging
