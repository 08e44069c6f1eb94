"""What a storm leaves in the SQLite outbox once its alerts resolve, and what enqueueing costs.

10,000 groups page PagerDuty at once; 135 triggers go out before every alert resolves.
Prints the time to enqueue the triggers and the resolves, and what is still pending to
send afterwards (at PagerDuty's 2/s, each 7,200 pending entries are an hour's delay).

    .venv/bin/python bench/outbox_storm.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import tempfile
import time
from pathlib import Path

import structlog

from alertd.model import Delivery, Notification, OutboxEntry
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
GROUPS = 10_000
SENT_BEFORE_RESOLVED = 135


def queued(group: int, *, firing: bool, seconds: int) -> OutboxEntry:
    at = T0 + dt.timedelta(seconds=seconds)
    kind = "trigger" if firing else "resolve"
    n = Notification(f"{kind}-{group}", "pagerduty", f"g{group}", (), firing, (), at)
    return OutboxEntry(n, expires_at=at + dt.timedelta(hours=6), next_attempt_at=at)


async def storm(path: Path) -> None:
    store = await SqliteStore.open(path)
    try:
        triggers = tuple(queued(g, firing=True, seconds=0) for g in range(GROUPS))
        started = time.perf_counter()
        await store.commit(Commit(T0, "notify", outbox=triggers))
        enqueue_triggers = time.perf_counter() - started
        for sent in triggers[:SENT_BEFORE_RESOLVED]:
            await store.record(dataclasses.replace(sent, status=Delivery.DELIVERED, attempts=1))
        resolves = tuple(queued(g, firing=False, seconds=60) for g in range(GROUPS))
        started = time.perf_counter()
        await store.commit(Commit(T0, "notify", outbox=resolves))
        enqueue_resolves = time.perf_counter() - started
        pending = await store.outbox(status=Delivery.PENDING, limit=10 * GROUPS)
    finally:
        await store.aclose()
    stale = sum(e.notification.firing for e in pending)
    print(f"enqueue {GROUPS} triggers: {enqueue_triggers * 1000:.0f} ms")
    print(f"enqueue {GROUPS} resolves: {enqueue_resolves * 1000:.0f} ms")
    print(f"pending after: {len(pending)} ({stale} triggers of resolved alerts)")
    print(f"to send at 2/s: {len(pending) / 2 / 60:.1f} min")


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(storm(Path(folder) / "alertd.db"))


if __name__ == "__main__":
    main()
