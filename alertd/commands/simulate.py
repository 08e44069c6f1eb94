"""`alertd simulate`: write simulated Pitchey traffic with incidents into the emulator.

With `--from/--to` (or neither: the timeline's length up to now) a historical range is
written at once, for backtests; with `--live` traffic is written as the clock advances,
`--speed` times faster than real time, until interrupted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TextIO

import anyio
import httpx

from alertd.clock import ScaledClock, SystemClock
from alertd.rules.durations import format_duration
from alertd.simulator.timeline import Timeline, TimelineError, demo_timeline, load_timeline
from alertd.simulator.writer import WriteError, run_live, write_range

HISTORY = dt.timedelta(minutes=5)  # written before a live origin, so windows start full
CHUNK = dt.timedelta(minutes=5)  # per request: the emulator takes few large writes best
TIMEOUT_SECONDS = 60.0


def run(
    emulator: str,
    timeline: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    live: bool,
    speed: float,
    seed: int,
    out: TextIO,
    *,
    err: TextIO | None = None,
) -> int:
    """Run the command; 0 on success, 1 with a message on `err` (default `out`) if not."""
    err = err or out
    try:
        played = demo_timeline() if timeline is None else load_timeline(timeline)
    except TimelineError as exc:
        for message in exc.messages:
            print(message, file=err)
        return 1
    root = emulator.rstrip("/").removesuffix("/client/v4")
    start, end = _utc(start), _utc(end)
    problem = _check_arguments(start, end, live, speed)
    if problem:
        print(f"alertd simulate: {problem}", file=err)
        return 1
    try:
        if live:
            return anyio.run(_live, root, played, speed, seed, out)
        first, last = _range(played, start, end)
        return anyio.run(_history, root, played, first, last, seed, out)
    except WriteError as exc:
        print(f"alertd simulate: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=out)
        return 0


def _check_arguments(
    start: dt.datetime | None, end: dt.datetime | None, live: bool, speed: float
) -> str | None:
    if live and (start is not None or end is not None):
        return "--live writes from now on and takes no --from or --to"
    if speed <= 0:
        return f"--speed must be positive, not {speed}"
    if start is not None and end is not None and end <= start:
        return "--to must come after --from"
    return None


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # AE's time zone is UTC, so is a naive time


def _range(
    timeline: Timeline, start: dt.datetime | None, end: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """The range to write: what was given, completed with the timeline's length."""
    if start is not None and end is not None:
        return start, end
    if start is not None:
        return start, start + timeline.length
    if end is None:
        end = SystemClock().now().replace(second=0, microsecond=0)
    return end - timeline.length, end


async def _history(
    root: str, timeline: Timeline, start: dt.datetime, end: dt.datetime, seed: int, out: TextIO
) -> int:
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        written = await write_range(
            client, root, timeline, start, end, origin=start, seed=seed, chunk=CHUNK
        )
    print(
        f"wrote {written} points for {start.isoformat()} to {end.isoformat()} "
        f"({len(timeline.incidents)} incidents, seed {seed}) into {root}",
        file=out,
    )
    return 0


async def _live(root: str, timeline: Timeline, speed: float, seed: int, out: TextIO) -> int:
    system = SystemClock()
    origin = system.now().replace(microsecond=0)
    clock = ScaledClock(origin, speed, system)
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        try:
            (await client.get(f"{root}/emulator/health")).raise_for_status()
        except httpx.HTTPError as exc:
            raise WriteError(
                f"cannot reach the emulator at {root} ({exc}); start it with `alertd emulator`"
            ) from exc
        print(
            f"writing live traffic into {root} from {origin.isoformat()} at {speed:g}x: "
            f"{len(timeline.incidents)} incidents over {format_duration(timeline.length)}, "
            f"seed {seed}; Ctrl-C stops",
            file=out,
        )
        await run_live(
            clock, client, root, timeline, origin=origin, seed=seed, since=origin - HISTORY
        )
    return 0
