"""Notification at run time: the notifier's step on every tick and on its own timer,
committed with the store, and the delivery loop that drains the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import anyio
import structlog

from alertd.clock import Clock
from alertd.errors import StoreError
from alertd.model import AlertState, NotifyChanges, OutboxEntry
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.silences import Silence, from_record
from alertd.store.base import Commit, Store

log = structlog.get_logger(__name__)


async def active_silences(store: Store, at: dt.datetime) -> list[Silence]:
    return [from_record(r) for r in await store.silences(active_at=at)]


class NotificationService:
    """Ties the notifier to the evaluator's commits, and runs timers and delivery."""

    def __init__(
        self,
        notifier: Notifier,
        deliverer: Deliverer,
        store: Store,
        clock: Clock,
        *,
        on_enqueue: Callable[[OutboxEntry], None] = lambda _: None,
        wall_clock_silences: bool = True,
    ) -> None:
        self.notifier = notifier
        self.deliverer = deliverer
        self.store = store
        self.clock = clock
        self.on_enqueue = on_enqueue
        self.wall_clock_silences = wall_clock_silences

    async def restore(self) -> None:
        self.notifier.groups = await self.store.load_groups()
        log.info("notifier.restored", groups=len(self.notifier.groups))

    async def followup(self, states: Mapping[str, AlertState], at: dt.datetime) -> NotifyChanges:
        """The notification changes a tick's states call for (committed with the tick).

        Silences are people's decisions made on the wall clock: one added or expired now
        takes effect now, not an evaluation delay later. A replay has no such people, and
        takes them at its own time.
        """
        silenced_at = self.clock.now() if self.wall_clock_silences else at
        silences = await active_silences(self.store, silenced_at)
        return self.notifier.step(states, silences, at, silenced_at=silenced_at)

    def committed(self, changes: NotifyChanges) -> None:
        self.notifier.committed(changes)
        for entry in changes.outbox:
            self.on_enqueue(entry)

    async def flush(self, states: Mapping[str, AlertState], at: dt.datetime) -> NotifyChanges:
        """A step between ticks, for group timers that expire then; commits what it finds."""
        changes = await self.followup(states, at)
        if changes:
            commit = Commit(
                at=at,
                group="notify",
                groups=changes.groups,
                dropped_groups=changes.dropped_groups,
                outbox=changes.outbox,
            )
            try:
                await self.store.commit(commit)
            except StoreError as exc:
                self.deliverer.health.write_failed("commit", exc, self.clock.now())
                raise
            self.deliverer.health.wrote(self.clock.now())
            self.committed(changes)
        return changes

    async def run_timer(
        self, states: Callable[[], Mapping[str, AlertState]], lock: anyio.Lock, delay: dt.timedelta
    ) -> None:
        """Step the notifier every second of evaluation time, between ticks."""
        while True:
            at = (self.clock.now() - delay).replace(microsecond=0)
            try:
                async with lock:
                    await self.flush(states(), at)
            except StoreError as exc:
                # Counted, and logged at error, by the state health; the next step retries.
                log.debug("notifier.commit_failed", at=at.isoformat(), error=str(exc))
            except Exception:
                log.exception("notifier.bug", at=at.isoformat())
            await self.clock.sleep(1.0)
