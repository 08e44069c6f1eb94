"""An idle delivery loop does not poll: it is woken when entries are enqueued for its
receiver, and at its earliest retry's due time."""

from __future__ import annotations

import datetime as dt
import random

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.errors import ReceiverError
from alertd.model import OutboxEntry
from alertd.notify.delivery import Deliverer
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from tests.notify.test_delivery import T0, Scripted, entry

pytestmark = pytest.mark.anyio


class CountedStore(MemoryStore):
    """Counts how often the delivery loop asks what is due."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def due(self, receiver: str, now: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        self.asked += 1
        return await super().due(receiver, now, limit)


def seconds(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


async def test_enqueued_entries_and_retries_wake_the_loop_at_their_instant() -> None:
    clock, store = FakeClock(T0, autojump=False), CountedStore()
    receiver = Scripted(clock, ReceiverError("429", retryable=True, retry_after=7))
    deliverer = Deliverer(
        store, {"pager": receiver}, clock, rates={"pager": 100.0}, rng=random.Random(1)
    )
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(deliverer.run)
        await clock.advance_to(seconds(600))
        # Ten idle minutes: a look at the start and one a minute, not one a second.
        assert store.asked <= 11

        await clock.advance_to(seconds(600.3))
        first = entry("first", created=600.3)
        await store.commit(Commit(clock.now(), "t", outbox=(first,)))
        deliverer.enqueued(["pager"])
        # Refused with Retry-After: 7 at once, then sent again 7 s later, to the instant.
        await clock.advance_to(seconds(620))
        tasks.cancel_scope.cancel()
    assert receiver.sent == [(seconds(607.3), "first")]
