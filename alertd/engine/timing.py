"""Evaluation times: a grid per group interval, shared by the daemon and backtests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def evaluation_time(now: dt.datetime, interval: dt.timedelta, delay: dt.timedelta) -> dt.datetime:
    """The latest grid point at or before `now - delay`.

    AE data lands late, so windows end `delay` before now; the grid makes the live daemon
    and a backtest evaluate at the very same instants.
    """
    step = interval.total_seconds()
    elapsed = (now - delay - EPOCH).total_seconds()
    return EPOCH + dt.timedelta(seconds=(elapsed // step) * step)


def next_evaluation(now: dt.datetime, interval: dt.timedelta, delay: dt.timedelta) -> dt.datetime:
    """The earliest grid point at or after `now - delay`: the next one a tick may evaluate."""
    at = evaluation_time(now, interval, delay)
    return at if at == now - delay else at + interval


def grid(start: dt.datetime, end: dt.datetime, interval: dt.timedelta) -> Iterator[dt.datetime]:
    """Every grid point in [start, end]."""
    at = evaluation_time(start, interval, dt.timedelta(0))
    if at < start:
        at += interval
    while at <= end:
        yield at
        at += interval
