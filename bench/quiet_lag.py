"""Quiet datasets and the automatic delay: the lag estimator alone, two hours of 30 s ticks.

Each tick's statement sees what the evaluator's would: the rows landed by now since its
window's start (5 minutes), counted before and after the window's end. Rows land 30 s
after their timestamp; the longest delay is 60 s. Printed per scenario: the lag seen for
the watched dataset at the end, the delay its group evaluated at (least, most), whether any
window was judged before its rows were in, and the minutes it was called lagging.

    .venv/bin/python bench/quiet_lag.py
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence

from alertd.engine.freshness import DelayBounds, Fill, LagEstimator

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
TICK = dt.timedelta(seconds=30)
WINDOW = dt.timedelta(minutes=5)
LAND = dt.timedelta(seconds=30)
END = T0 + dt.timedelta(hours=2)
BOUNDS = DelayBounds(dt.timedelta(seconds=10), dt.timedelta(seconds=60))


def rows(every: float, stop: dt.datetime = END, offset: float = 0) -> list[dt.datetime]:
    """Timestamps `every` seconds apart, `offset` seconds past the ticks' grid."""
    count = int((stop - T0 + WINDOW).total_seconds() / every)
    return [T0 - WINDOW + dt.timedelta(seconds=offset + every * i) for i in range(count)]


def observe(lags: LagEstimator, name: str, times: Sequence[dt.datetime], now: dt.datetime) -> None:
    end = now - lags.delay([name], now)
    landed = times[
        bisect.bisect_right(times, end - WINDOW) : bisect.bisect_right(times, now - LAND)
    ]
    before = bisect.bisect_right(landed, end)
    newest = landed[-1] if landed else None
    lags.observe(name, newest, now, Fill(end, WINDOW, before, len(landed) - before))


def play(datasets: dict[str, list[dt.datetime]], watched: str) -> list[str]:
    lags = LagEstimator(BOUNDS)
    delays: list[dt.timedelta] = []
    lagging = 0
    now = T0
    while now <= END:
        delays.append(lags.delay([watched], now))
        for name, times in datasets.items():
            observe(lags, name, times, now)
        lagging += lags.lagging(watched)
        now += TICK
    lag = lags.lag(watched)
    return [
        "-" if lag is None else f"{lag.total_seconds():.0f} s",
        f"{min(delays).total_seconds():.0f}-{max(delays).total_seconds():.0f} s",
        "yes" if min(delays) < LAND else "no",
        f"{lagging * TICK.total_seconds() / 60:.1f} min",
    ]


def main() -> None:
    scenarios = {
        "a row a minute, alone": ({"quiet": rows(60, offset=17)}, "quiet"),
        "a row a minute, beside 2/s": ({"quiet": rows(60, offset=17), "api": rows(0.5)}, "quiet"),
        "1/s, stops at 20 min": ({"api": rows(1, T0 + dt.timedelta(minutes=20))}, "api"),
    }
    columns = ("dataset", "lag seen at end", "delay", "judged early", "called lagging")
    print(f"{columns[0]:<30}" + "".join(f"{c:>18}" for c in columns[1:]))
    for title, (datasets, watched) in scenarios.items():
        print(f"{title:<30}" + "".join(f"{c:>18}" for c in play(datasets, watched)))


if __name__ == "__main__":
    main()
