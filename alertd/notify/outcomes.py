"""The outcomes of delivery attempts on their way to the store, which may not take them.

On a full disk a send succeeds and its record fails. The outcome is then kept here and
recorded again later, and meanwhile stands for what the store holds: a notification
delivered once is never sent again by this process, and a retry keeps its backoff.
"""

from __future__ import annotations

import structlog

from alertd.clock import Clock
from alertd.errors import LeaseLostError, StoreError
from alertd.model import Delivery, OutboxEntry
from alertd.store.base import Notifications
from alertd.store.health import StateHealth

log = structlog.get_logger(__name__)


class Outcomes:
    """Records outcomes, keeping in memory, by entry id, those the store did not take."""

    def __init__(self, store: Notifications, clock: Clock, health: StateHealth) -> None:
        self.store = store
        self.clock = clock
        self.health = health
        self.unrecorded: dict[str, OutboxEntry] = {}

    async def record(self, outcome: OutboxEntry) -> bool:
        """Record `outcome`; False when the store failed and it is kept to record later."""
        try:
            await self.store.record(outcome)
        except LeaseLostError as exc:
            # Another replica leads now and owns the entry: this outcome is not ours to
            # record (if the send went out, the new leader may send it once more).
            self.unrecorded.pop(outcome.id, None)
            log.warning(
                "notification.not_recorded_not_leader", notification=outcome.id, error=str(exc)
            )
            return True
        except StoreError as exc:
            if outcome.id not in self.unrecorded:
                log.warning(
                    "notification.not_recorded",
                    receiver=outcome.notification.receiver,
                    notification=outcome.id,
                    status=outcome.status.value,
                )
            self.unrecorded[outcome.id] = outcome
            self.health.write_failed("record", exc, self.clock.now())
            return False
        self.unrecorded.pop(outcome.id, None)
        self.health.wrote(self.clock.now())
        return True

    async def record_unrecorded(self) -> bool:
        """Try again to record what the store did not take; False if it still does not."""
        for outcome in list(self.unrecorded.values()):
            if not await self.record(outcome):
                return False
        return True

    def as_known(self, entry: OutboxEntry) -> OutboxEntry | None:
        """`entry`, as stored, as this process knows it: with its unrecorded outcome if it
        has one; None when that outcome is final, so it is never attempted again."""
        outcome = self.unrecorded.get(entry.id)
        if outcome is None:
            return entry
        return outcome if outcome.status is Delivery.PENDING else None
