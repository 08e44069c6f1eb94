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
from alertd.notify.receivers.base import Delivered, Payload
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


class Slow(Scripted):
    """Answers every send `seconds` later on the clock: a slow Slack or PagerDuty."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__(clock)
        self.seconds = seconds
        self.began: list[tuple[dt.datetime, str]] = []

    async def send(self, payload: Payload) -> Delivered:
        self.began.append((self.clock.now(), payload.body.decode()))
        await self.clock.sleep(self.seconds)
        return await super().send(payload)


async def deliver_while(
    clock: FakeClock, deliverer: Deliverer, store: MemoryStore, late: OutboxEntry
) -> None:
    """Run the loop from T0; at 1 s `late` is enqueued; stop at 20 s."""
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(deliverer.run)
        await clock.advance_to(seconds(1))
        await store.commit(Commit(clock.now(), "t", outbox=(late,)))
        deliverer.enqueued(["pager"])
        await clock.advance_to(seconds(20))
        tasks.cancel_scope.cancel()


async def test_an_entry_enqueued_during_another_groups_slow_send_goes_at_once() -> None:
    # A new trigger does not wait for the slowest send in flight: an alert that resolves
    # meanwhile would otherwise supersede it unsent.
    clock, store = FakeClock(T0, autojump=False), MemoryStore()
    receiver = Slow(clock, 5)
    deliverer = Deliverer(store, {"pager": receiver}, clock, rates={"pager": 100.0})
    await store.commit(Commit(T0, "t", outbox=(entry("slow", group="g1"),)))

    await deliver_while(clock, deliverer, store, entry("new", group="g2", created=1))

    assert receiver.began == [(T0, "slow"), (seconds(1), "new")]
    assert receiver.sent == [(seconds(5), "slow"), (seconds(6), "new")]


async def test_an_entry_enqueued_behind_its_groups_send_in_flight_waits_for_it() -> None:
    clock, store = FakeClock(T0, autojump=False), MemoryStore()
    receiver = Slow(clock, 5)
    deliverer = Deliverer(store, {"pager": receiver}, clock, rates={"pager": 100.0})
    await store.commit(Commit(T0, "t", outbox=(entry("first", group="g1"),)))

    await deliver_while(clock, deliverer, store, entry("second", group="g1", created=1))

    # The group's order holds, and the send in flight is not made twice.
    assert receiver.began == [(T0, "first"), (seconds(5), "second")]
    assert receiver.sent == [(seconds(5), "first"), (seconds(10), "second")]
