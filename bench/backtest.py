"""Backtest speed: a day and a week of the shipped rules at 30 s steps, against the emulator.

    .venv/bin/python bench/backtest.py            # range backtests of a day and a week
    .venv/bin/python bench/backtest.py --exact    # and the tick-by-tick replay of the day
    .venv/bin/python bench/backtest.py --exact --day-only   # without the week
    .venv/bin/python bench/backtest.py --chunk-hours 6      # fewer, larger statements

Starts a local emulator, writes simulated traffic (the demo's incidents every hour, a
tenth of the points, each standing for ten), then prints for each range: wall time,
statements sent, SQL bytes, transitions, and how many times faster than real time it ran.
With --exact it also replays the day tick by tick, as `alertd backtest --exact` does, and
says whether both found the same transitions.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator, running_emulator
from alertd.engine.backtest import backtest
from alertd.engine.range_backtest import range_backtest
from alertd.logging import configure
from alertd.model import Query, Rows, Transition
from alertd.rules.loader import load
from alertd.rules.ruleset import RuleSet
from alertd.simulator.timeline import demo_timeline
from alertd.simulator.traffic import generate
from alertd.sources.analytics_engine import AnalyticsEngineSource

T0 = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=30)
RULES = Path(__file__).resolve().parents[1] / "rules"
KEEP = 10  # one point in ten, standing for ten times its events: AE's own sampling


class Counting:
    """Counts the statements and SQL bytes a source is asked, passing them on."""

    def __init__(self, inner: AnalyticsEngineSource) -> None:
        self.inner = inner
        self.statements = 0
        self.sql_bytes = 0

    async def run(self, query: Query) -> Rows:
        self.statements += 1
        self.sql_bytes += len(query.sql.encode("utf-8"))
        return await self.inner.run(query)

    async def aclose(self) -> None:
        await self.inner.aclose()


def write_days(ae: RunningEmulator, days: int) -> int:
    """A simulated day, written again for each later day (generating is slow, writing fast)."""
    day: dict[str, list[dict[str, Any]]] = {}
    for hour in range(24):
        start = T0 + dt.timedelta(hours=hour)
        points = generate(
            demo_timeline(), start, start + dt.timedelta(hours=1), origin=start, seed=hour
        )
        for dataset, rows in points.items():
            thinned = [{**p, "sample_interval": p["sample_interval"] * KEEP} for p in rows[::KEEP]]
            day.setdefault(dataset, []).extend(thinned)
    written = 0
    for shift in range(days):
        later = shift * 86_400_000  # milliseconds
        for dataset, rows in day.items():
            moved = [{**p, "timestamp": int(p["timestamp"]) + later} for p in rows]
            written += ae.write(dataset, moved).written
    return written


Replay = Callable[..., Awaitable[list[Transition]]]


async def timed(
    ae: RunningEmulator, ruleset: RuleSet, replay: Replay, span: dt.timedelta, label: str
) -> list[Transition]:
    source = Counting(
        AnalyticsEngineSource(
            ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
        )
    )
    start = T0 + dt.timedelta(minutes=10)
    server = _emulator_thread()
    started, cpu = time.perf_counter(), time.process_time()
    ours, served = time.thread_time(), _thread_cpu(server)
    try:
        found = await replay(ruleset, source, start, T0 + span, step=STEP)
    finally:
        await source.aclose()
    wall = time.perf_counter() - started
    # The emulator runs in this process: its CPU counts too. On a shared machine, CPU
    # seconds vary less than wall time.
    cpu = time.process_time() - cpu
    ours, served = time.thread_time() - ours, _thread_cpu(server) - served
    replayed = (T0 + span - start).total_seconds()
    print(
        f"{label}: {wall:.1f} s wall ({cpu:.1f} s CPU), {source.statements} statements, "
        f"{source.sql_bytes / 1e6:.2f} MB of SQL, {len(found)} transitions, "
        f"{replayed / wall:,.0f}x real time",
        flush=True,
    )
    # Where the CPU went: alertd (planning, HTTP client, parsing, evaluation) runs in this
    # thread; the emulator's HTTP server and dialect check in its own; chdb in the rest.
    print(
        f"  CPU split: alertd {ours:.1f} s, emulator server {served:.1f} s, "
        f"chdb {cpu - ours - served:.1f} s",
        flush=True,
    )
    return found


def _emulator_thread() -> int | None:
    """The emulator server thread's id (it answers HTTP and checks the dialect)."""
    found = [t.ident for t in threading.enumerate() if t.name == "ae-emulator"]
    return found[0] if found else None


def _thread_cpu(ident: int | None) -> float:
    if ident is None:
        return 0.0
    return time.clock_gettime(time.pthread_getcpuclockid(ident))


def in_order(transition: Transition) -> tuple[dt.datetime, str]:
    """Series come back from AE in no set order: within one instant, order by alert."""
    return transition.at, transition.fingerprint


async def main_async(exact: bool, days: int, chunk: dt.timedelta) -> None:
    ruleset = load([RULES]).ruleset
    with running_emulator() as ae:
        started = time.perf_counter()
        written = write_days(ae, days)
        took = time.perf_counter() - started
        print(f"wrote {written} points for {days} day(s) in {took:.0f} s", flush=True)
        day = dt.timedelta(days=1)
        ranged = functools.partial(range_backtest, chunk=chunk)
        hours = f"{chunk.total_seconds() / 3600:g} h chunks"
        found = await timed(ae, ruleset, ranged, day, f"range backtest, 1 day, {hours}")
        if days > 1:
            label = f"range backtest, {days} days, {hours}"
            await timed(ae, ruleset, ranged, dt.timedelta(days=days), label)
        if exact:
            ticked = await timed(ae, ruleset, backtest, day, "tick-by-tick replay, 1 day")
            same = sorted(found, key=in_order) == sorted(ticked, key=in_order)
            print(f"same transitions: {'yes' if same else 'NO'}")


def main() -> int:
    configure("warning", "console")
    parser = argparse.ArgumentParser()
    parser.add_argument("--exact", action="store_true", help="also replay the day tick by tick")
    parser.add_argument("--day-only", action="store_true", help="write and replay one day")
    parser.add_argument("--chunk-hours", type=float, default=1.0, help="history per batch")
    args = parser.parse_args()
    chunk = dt.timedelta(hours=args.chunk_hours)
    asyncio.run(main_async(args.exact, 1 if args.day_only else 7, chunk))
    return 0


if __name__ == "__main__":
    sys.exit(main())
