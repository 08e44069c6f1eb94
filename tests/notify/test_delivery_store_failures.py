"""The delivery loop when the state store fails: nothing sent twice, nothing hammered."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

import anyio
import pytest
from structlog.testing import capture_logs

from alertd.errors import ReceiverError, StoreError
from alertd.model import Delivery, OutboxEntry, Severity
from alertd.notify.delivery import Deliverer
from alertd.notify.receivers.base import Delivered, Payload
from alertd.notify.service import NotificationService
from alertd.store.base import Commit
from alertd.store.health import ALERT, StateHealth
from alertd.store.memory import MemoryStore
from tests.notify.test_delivery import T0, ScheduledClock, Scripted, entry
from tests.notify.test_notifier import firing, notifier

pytestmark = pytest.mark.anyio

FULL = "database or disk is full"


class FailingStore(MemoryStore):
    """A MemoryStore whose writes, or reads, fail while told to, as on a full disk."""

    def __init__(self) -> None:
        super().__init__()
        self.writes_fail = False
        self.reads_fail = {"due": 0, "outbox": 0}  # how many reads fail from now on

    async def record(self, entry: OutboxEntry) -> None:
        if self.writes_fail:
            raise StoreError(f"record failed on the state store: {FULL}")
        await super().record(entry)

    async def commit(self, commit: Commit) -> None:
        if self.writes_fail:
            raise StoreError(f"commit failed on the state store: {FULL}")
        await super().commit(commit)

    async def due(self, receiver: str, now: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        self._read("due")
        return await super().due(receiver, now, limit)

    async def outbox(
        self, *, status: Delivery | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        self._read("outbox")
        return await super().outbox(status=status, limit=limit)

    def _read(self, what: str) -> None:
        if self.reads_fail[what]:
            self.reads_fail[what] -= 1
            raise StoreError(f"{what} failed on the state store: disk I/O error")


class Counting(Scripted):
    """A scripted receiver that also notes when each send was tried."""

    def __init__(self, clock: ScheduledClock, *answers: Exception | None) -> None:
        super().__init__(clock, *answers)
        self.tried: list[dt.datetime] = []

    async def send(self, payload: Payload) -> Delivered:
        self.tried.append(self.clock.now())
        return await super().send(payload)


def deliverer_for(store: FailingStore, receiver: Scripted, clock: ScheduledClock) -> Deliverer:
    return Deliverer(
        store,
        {"pager": receiver},
        clock,
        rates={"pager": 100.0},
        rng=random.Random(1),
        health=StateHealth(),
    )


async def run_for(deliverer: Deliverer, clock: ScheduledClock, seconds: float) -> None:
    """Run the delivery loop until `seconds` of clock time have passed (its sleeps move the
    fake clock); a real deadline guards against a loop that never sleeps."""
    passed = anyio.Event()

    async def stop() -> None:
        passed.set()

    clock.at(clock.now() + dt.timedelta(seconds=seconds), stop)
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(deliverer.run)
            await passed.wait()
            tasks.cancel_scope.cancel()


async def test_a_send_that_cannot_be_recorded_is_never_sent_again() -> None:
    clock, store = ScheduledClock(T0), FailingStore()
    receiver = Scripted(clock)
    deliverer = deliverer_for(store, receiver, clock)
    await store.commit(Commit(T0, "t", outbox=(entry("trigger"),)))
    store.writes_fail = True

    await run_for(deliverer, clock, 40)

    assert [body for _, body in receiver.sent] == ["trigger"]
    assert list(deliverer.outcomes.unrecorded) == ["trigger"]
    assert deliverer.outcomes.unrecorded["trigger"].status is Delivery.DELIVERED
    (stored,) = await store.outbox()
    assert stored.status is Delivery.PENDING  # the store could not take it
    assert deliverer.health.unwritable_since == T0
    assert deliverer.health.failed_writes > 1  # the record is tried again

    store.writes_fail = False
    await run_for(deliverer, clock, 120)

    (stored,) = await store.outbox()
    assert (stored.status, stored.ref) == (Delivery.DELIVERED, "ref-trigger")
    assert deliverer.outcomes.unrecorded == {}
    assert deliverer.health.writable
    assert [body for _, body in receiver.sent] == ["trigger"]


async def test_a_failing_receiver_keeps_its_backoff_when_it_cannot_be_recorded() -> None:
    clock, store = ScheduledClock(T0), FailingStore()
    receiver = Counting(clock, *(ReceiverError("503", retryable=True) for _ in range(100)))
    tried = receiver.tried
    deliverer = deliverer_for(store, receiver, clock)
    await store.commit(Commit(T0, "t", outbox=(entry("trigger"),)))
    store.writes_fail = True

    await run_for(deliverer, clock, 120)

    # Every second would be 120 tries; backing off, a handful.
    assert 2 <= len(tried) <= 8
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(tried)]
    assert max(gaps) >= 16
    kept = deliverer.outcomes.unrecorded["trigger"]
    assert (kept.status, kept.attempts) == (Delivery.PENDING, len(tried))


async def test_store_errors_back_off_the_loop_exponentially_up_to_a_cap() -> None:
    clock, store = ScheduledClock(T0), FailingStore()
    deliverer = deliverer_for(store, Scripted(clock), clock)
    store.reads_fail["due"] = 10

    await run_for(deliverer, clock, 500)

    assert clock.slept[:10] == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert deliverer.health.failed_reads == 10
    # Once the store answers, an idle loop waits to be told of new entries (or a minute).
    assert clock.slept[10:12] == [60, 60]


async def test_a_store_error_at_start_is_retried_not_fatal() -> None:
    clock, store = ScheduledClock(T0), FailingStore()
    deliverer = deliverer_for(store, Scripted(clock), clock)
    gone = entry("for-removed")
    gone = dataclasses.replace(
        gone, notification=dataclasses.replace(gone.notification, receiver="removed"), expires_at=T0
    )
    await store.commit(Commit(T0, "t", outbox=(gone,)))
    store.reads_fail["outbox"] = 3

    with capture_logs() as logs:
        await run_for(deliverer, clock, 10)

    (expired,) = await store.outbox()
    assert expired.status is Delivery.EXPIRED
    failures = [e["read"] for e in logs if e["event"] == "store.read_failed"]
    # The idle receiver's look for its next retry met one of the failures too.
    assert failures == ["expire_unconfigured", "expire_unconfigured", "next_attempt"]


async def test_state_unwritable_is_logged_when_it_starts_every_five_minutes_and_when_it_ends() -> (
    None
):
    health = StateHealth()
    error = StoreError(FULL)
    with capture_logs() as logs:
        for second in range(0, 15 * 60, 1):
            health.write_failed("record", error, T0 + dt.timedelta(seconds=second))
        health.wrote(T0 + dt.timedelta(minutes=15))

    events = [(e["event"], e["log_level"]) for e in logs]
    assert events == [(f"{ALERT}.firing", "error")] * 3 + [(f"{ALERT}.resolved", "warning")]
    assert (health.failed_writes, health.unwritable_since) == (900, None)
    assert health.last_error == FULL


async def test_a_notifier_step_that_cannot_be_committed_marks_the_state_unwritable() -> None:
    clock, store = ScheduledClock(T0), FailingStore()
    n = notifier()
    service = NotificationService(
        n, Deliverer(store, {}, clock, health=StateHealth()), store, clock
    )
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    store.writes_fail = True

    with pytest.raises(StoreError, match=FULL):
        await service.flush({state.fingerprint: state}, T0)

    health = service.deliverer.health
    assert (health.unwritable_since, health.failed_writes) == (T0, 1)
    assert n.groups == {}  # not taken before the store has it
    store.writes_fail = False
    clock.advance(5)
    assert (await service.flush({state.fingerprint: state}, T0)).groups
    assert health.writable
    assert list(n.groups) == list(await store.load_groups())
