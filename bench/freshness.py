"""Fixed against automatic evaluation delay, under an ingest lag of 30 to 90 seconds.

The daemon runs on a fake clock against the emulator, whose rows land late by
`--ingest-delay D[:JITTER]`: an hour of steady traffic (two requests a second) with three
ten-minute incidents in which half the requests fail. Two rules: `Errors` (any failed
request in the last minute, `for: 1m`) must page once per incident; `TrafficDrop` (fewer
than 100 requests in the last minute) must never page, since traffic never drops: it
fires only on a window judged before its rows are in. Printed per lag and delay: pages
per incident, detection delay from the incident's start to its page (median, max), false
pages (TrafficDrop, or Errors outside an incident), and false resolves (Errors resolved
while its incident went on).

    .venv/bin/python bench/freshness.py
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import structlog

sys.path.insert(0, str(Path(__file__).parents[1]))

from alertd.emulator.ingest import IngestDelay
from alertd.model import Change
from tests.freshness.live import T0, Run, changes, play

HOUR = T0 + dt.timedelta(hours=1)
INCIDENTS = tuple(
    (T0 + dt.timedelta(minutes=m), T0 + dt.timedelta(minutes=m + 10)) for m in (8, 28, 46)
)
LAGS = (IngestDelay(30, 0), IngestDelay(60, 0), IngestDelay(90, 0), IngestDelay(30, 60))
DELAYS = ("60", "auto")


def summary(run: Run) -> dict[str, str]:
    firing = [(at, names) for at, status, names in run.pages if status == "firing"]
    detected: list[float] = []
    for start, stop in INCIDENTS:
        pages = [at for at, names in firing if "Errors" in names and start <= at]
        pages = [at for at in pages if at < stop + dt.timedelta(minutes=5)]
        if pages:
            detected.append((min(pages) - start).total_seconds())
    inside = [
        at
        for at, names in firing
        if "Errors" in names and any(s <= at < e + dt.timedelta(minutes=5) for s, e in INCIDENTS)
    ]
    errors_pages = sum(1 for _, names in firing if "Errors" in names)
    false_pages = sum(1 for _, names in firing if "TrafficDrop" in names)
    false_pages += errors_pages - len(inside)
    false_resolves = sum(
        1
        for at, change in changes(run, "Errors")
        if change is Change.RESOLVED and any(s <= at < e for s, e in INCIDENTS)
    )
    return {
        "paged": f"{len(detected)}/{len(INCIDENTS)}",
        "delay median": f"{statistics.median(detected):.0f} s" if detected else "-",
        "delay max": f"{max(detected):.0f} s" if detected else "-",
        "false pages": str(false_pages),
        "false resolves": str(false_resolves),
        "lag seen": _lag(run),
    }


def _lag(run: Run) -> str:
    lag = run.pipeline.freshness.lag("api")
    return "-" if lag is None else f"{lag.total_seconds():.0f} s"


async def main() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(40)  # errors only
    )
    columns = ("ingest lag", "delay", "paged", "delay median", "delay max", "false pages",
               "false resolves", "lag seen", "run")  # fmt: skip
    print("  ".join(f"{c:>14}" for c in columns))
    with tempfile.TemporaryDirectory() as folder:
        for lag in LAGS:
            spread = f"{lag.seconds:g}-{lag.seconds + lag.jitter:g} s"
            for delay in DELAYS:
                started = time.perf_counter()
                run = await play(Path(folder), delay, lag, INCIDENTS, HOUR)
                row = summary(run)
                took = f"{time.perf_counter() - started:.1f} s"
                cells = (spread, delay if delay == "auto" else f"{delay} s", *row.values(), took)
                print("  ".join(f"{c:>14}" for c in cells), flush=True)


if __name__ == "__main__":
    anyio.run(main)
