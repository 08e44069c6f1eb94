"""How long the status page takes to render during an alert storm.

    .venv/bin/python bench/status_page.py                    # 100, 1,000 and 10,000 alerts
    .venv/bin/python bench/status_page.py --alerts 5000 --silences 500

`SlowQueryP95` (from the shipped rules) fires for N tables, half critical and half warning,
over 20 teams; the shipped inhibit rule applies, and `--silences` active silences each mute
one table. Every request goes through the real routes (Starlette over httpx's ASGI
transport, a MemoryStore); printed per count: the page's size and the median and worst time
of `--runs` requests to `/`, then of the page of one alert with its full history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import anyio
import httpx
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).parents[1]))

from alertd.clock import FakeClock
from alertd.model import (
    AlertState,
    SeriesPoint,
    Severity,
    SilenceRecord,
    Status,
    fingerprint,
)
from alertd.rules.loader import load
from alertd.server.status_page import status_routes
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from tests.server.scenario import INHIBIT_RULES

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def storm(count: int) -> dict[str, AlertState]:
    states = {}
    for i in range(count):
        labels = (("table", f"t{i:05d}"), ("team", f"team{i % 20:02d}"))
        key = fingerprint("SlowQueryP95", labels)
        severity = Severity.CRITICAL if i % 2 else Severity.WARNING
        states[key] = AlertState(
            key,
            "SlowQueryP95",
            labels,
            Status.FIRING,
            severity,
            active_since=AT - dt.timedelta(minutes=5),
            firing_since=AT - dt.timedelta(minutes=4),
            value=150.0 + i % 100,
            samples=100,
        )
    return states


async def measure(count: int, silences: int, runs: int) -> None:
    rules = load([Path(__file__).parents[1] / "rules"]).ruleset
    states = storm(count)
    store = MemoryStore()
    first = next(iter(states))
    points = tuple(
        SeriesPoint(first, AT - dt.timedelta(seconds=30 * i), 150.0 + i % 7, 100)
        for i in range(120)
    )
    await store.commit(Commit(AT, "database", states=tuple(states.values()), points=points))
    for i in range(min(silences, count)):
        await store.add_silence(
            SilenceRecord(
                f"s{i:05d}",
                ('alertname="SlowQueryP95"', f'table="t{i:05d}"'),
                AT - dt.timedelta(minutes=1),
                AT + dt.timedelta(hours=1),
                "bench",
                "storm",
            )
        )
    routes = status_routes(
        store=store,
        states=lambda: states,
        ruleset=lambda: rules,
        clock=FakeClock(AT),
        api_token="t",
        inhibit_rules=lambda: INHIBIT_RULES,
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for path, name in (("/", "status page"), (f"/alerts/{first}", "alert page")):
            times, size = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                response = await client.get(path)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
                size = len(response.content)
            print(
                f"{count:>6} alerts, {silences:>4} silences  {name:<11}  "
                f"{size / 1024:>8.0f} KiB  median {statistics.median(times) * 1000:>7.1f} ms"
                f"  worst {max(times) * 1000:>7.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--silences", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for count in args.alerts:
        anyio.run(measure, count, args.silences, args.runs)


if __name__ == "__main__":
    main()
