"""Writes simulated traffic into the emulator: a historical range at once, or live."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import httpx
import structlog

from alertd.clock import Clock
from alertd.errors import AlertdError
from alertd.simulator.health import PLATFORM_HEALTH_PATH, health_document
from alertd.simulator.timeline import Timeline
from alertd.simulator.traffic import Point, generate

DEFAULT_CHUNK = dt.timedelta(seconds=60)
DEFAULT_EVERY = dt.timedelta(seconds=5)

log = structlog.get_logger(__name__)


class WriteError(AlertdError):
    """The emulator could not be reached or refused a batch of points."""


async def write_points(
    client: httpx.AsyncClient, emulator_root: str, points: Mapping[str, list[Point]]
) -> int:
    """POST each dataset's points to `{emulator_root}/emulator/write/{dataset}`; the count."""
    written = 0
    for dataset, batch in points.items():
        if not batch:
            continue
        url = f"{emulator_root.rstrip('/')}/emulator/write/{dataset}"
        try:
            response = await client.post(url, json=batch)
        except httpx.HTTPError as exc:
            raise WriteError(f"cannot write to {url}: {exc}") from exc
        if response.status_code != 200:
            raise WriteError(
                f"the emulator refused {len(batch)} points for {dataset}: "
                f"{response.status_code} {response.text[:200]}"
            )
        written += int(response.json()["written"])
    return written


async def write_health(
    client: httpx.AsyncClient, emulator_root: str, timeline: Timeline, offset: dt.timedelta
) -> None:
    """Set the platform health answer the emulator serves to the one at `offset`."""
    url = f"{emulator_root.rstrip('/')}{PLATFORM_HEALTH_PATH}"
    try:
        response = await client.post(url, json=health_document(timeline, offset))
    except httpx.HTTPError as exc:
        raise WriteError(f"cannot write to {url}: {exc}") from exc
    if response.status_code != 200:
        raise WriteError(f"the emulator refused the health answer: {response.status_code}")


async def write_range(
    client: httpx.AsyncClient,
    emulator_root: str,
    timeline: Timeline,
    start: dt.datetime,
    end: dt.datetime,
    *,
    origin: dt.datetime,
    seed: int,
    chunk: dt.timedelta = DEFAULT_CHUNK,
) -> int:
    """Generate and write the traffic of [start, end), `chunk` at a time; points written."""
    if chunk <= dt.timedelta(0):
        raise ValueError("chunk must be positive")
    written = 0
    cursor = start
    while cursor < end:
        upto = min(cursor + chunk, end)
        points = generate(timeline, cursor, upto, origin=origin, seed=seed)
        written += await write_points(client, emulator_root, points)
        cursor = upto
    # The platform's health answer as it stands at the end of the range.
    await write_health(client, emulator_root, timeline, end - origin)
    log.info(
        "simulator.range_written",
        start=start.isoformat(),
        end=end.isoformat(),
        points=written,
        seed=seed,
    )
    return written


async def run_live(
    clock: Clock,
    client: httpx.AsyncClient,
    emulator_root: str,
    timeline: Timeline,
    *,
    origin: dt.datetime,
    seed: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    every: dt.timedelta = DEFAULT_EVERY,
) -> int:
    """Keep the emulator's data written up to `clock.now()`, from `since` (default: the
    origin), every `every` of the clock's time, until `until` (None: until cancelled).

    Only whole seconds that have passed are written, so no second is written twice. A
    failed write is logged and retried on the next round: a demo outlives an emulator
    restart.
    """
    if every <= dt.timedelta(0):
        raise ValueError("every must be positive")
    cursor = _whole_second(since or origin)
    written = 0
    while until is None or cursor < until:
        upto = _whole_second(clock.now())
        if until is not None:
            upto = min(upto, until)
        # Chunk by chunk, so a failed write repeats only the datasets of the chunk it hit
        # that the emulator had already taken, never whole minutes of data.
        while cursor < upto:
            chunk_end = min(cursor + DEFAULT_CHUNK, upto)
            try:
                points = generate(timeline, cursor, chunk_end, origin=origin, seed=seed)
                written += await write_points(client, emulator_root, points)
            except WriteError as exc:
                log.warning("simulator.write_failed", upto=chunk_end.isoformat(), error=str(exc))
                break
            cursor = chunk_end
        try:
            await write_health(client, emulator_root, timeline, cursor - origin)
        except WriteError as exc:
            log.warning("simulator.health_failed", error=str(exc))
        log.debug("simulator.live_written", upto=cursor.isoformat(), points=written)
        if until is None or cursor < until:
            await clock.sleep(every.total_seconds())
    log.info("simulator.live_done", until=cursor.isoformat(), points=written)
    return written


def _whole_second(moment: dt.datetime) -> dt.datetime:
    return dt.datetime.fromtimestamp(math.floor(moment.timestamp()), tz=dt.UTC)
