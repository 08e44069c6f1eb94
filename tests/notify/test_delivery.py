"""The delivery loop on a fake clock: retries, Retry-After, refusals, expiry, order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.errors import ReceiverError
from alertd.model import Delivery, Notification, OutboxEntry
from alertd.notify.delivery import Deliverer, RateLimit
from alertd.notify.receivers import SlackBotReceiver
from alertd.notify.receivers.base import Delivered, Payload
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from alertd.store.sqlite import SqliteStore
from tests.notify import fakes
from tests.notify.fakes import FakeServices

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.anyio


class Scripted:
    """A receiver that answers from a script and records what it sent, and when."""

    def __init__(self, clock: FakeClock, *answers: Exception | None) -> None:
        self.name = "pager"
        self.clock = clock
        self.script: deque[Exception | None] = deque(answers)
        self.sent: list[tuple[dt.datetime, str]] = []

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        return Payload("test:", n.id.encode())

    async def send(self, payload: Payload) -> Delivered:
        answer = self.script.popleft() if self.script else None
        if answer is not None:
            raise answer
        self.sent.append((self.clock.now(), payload.body.decode()))
        return Delivered(ref=f"ref-{payload.body.decode()}")


class ScheduledClock(FakeClock):
    """A fake clock that runs what is scheduled for a time, in the sleep that reaches it."""

    def __init__(self, start: dt.datetime) -> None:
        super().__init__(start)
        self._scheduled: list[tuple[dt.datetime, Callable[[], Awaitable[None]]]] = []

    def at(self, when: dt.datetime, call: Callable[[], Awaitable[None]]) -> None:
        self._scheduled.append((when, call))

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        now = self.now()
        due = [call for when, call in self._scheduled if when <= now]
        self._scheduled = [(when, call) for when, call in self._scheduled if when > now]
        for call in due:
            await call()


def entry(id: str, group: str = "g", *, firing: bool = True, created: float = 0) -> OutboxEntry:
    at = T0 + dt.timedelta(seconds=created)
    n = Notification(id, "pager", group, (), firing, (), at)
    return OutboxEntry(n, expires_at=at + dt.timedelta(hours=1), next_attempt_at=at)


async def setup(*answers: Exception | None) -> tuple[FakeClock, MemoryStore, Scripted, Deliverer]:
    clock = FakeClock(T0)
    store = MemoryStore()
    receiver = Scripted(clock, *answers)
    deliverer = Deliverer(
        store, {"pager": receiver}, clock, rates={"pager": 100.0}, rng=random.Random(1)
    )
    return clock, store, receiver, deliverer


async def test_retry_after_is_waited_then_delivered() -> None:
    clock, store, receiver, deliverer = await setup(
        ReceiverError("429", retryable=True, retry_after=7)
    )
    await store.commit(Commit(T0, "t", outbox=(entry("a"),)))
    await deliverer.deliver_due("pager")
    assert receiver.sent == []
    clock.advance(6)
    assert await deliverer.deliver_due("pager") == 0  # not due before Retry-After
    clock.advance(1)
    await deliverer.deliver_due("pager")
    assert receiver.sent == [(T0 + dt.timedelta(seconds=7), "a")]
    (done,) = await store.outbox()
    assert (done.status, done.attempts, done.ref) == (Delivery.DELIVERED, 2, "ref-a")
    assert deliverer.counters["pager"].retried == 1


async def test_backoff_grows_with_jitter_under_a_cap() -> None:
    failures = [ReceiverError("503", retryable=True) for _ in range(12)]
    clock, store, _receiver, deliverer = await setup(*failures)
    deliverer.max_backoff = 60.0
    await store.commit(Commit(T0, "t", outbox=(entry("a"),)))
    waits = []
    for _ in range(12):
        await deliverer.deliver_due("pager")
        (pending,) = await store.outbox()
        waits.append((pending.next_attempt_at - clock.now()).total_seconds())
        clock.advance(waits[-1])
    assert all(0 <= w <= min(60.0, 2**i) for i, w in enumerate(waits))
    assert max(waits) > 8  # it does back off


async def test_a_refusal_is_kept_as_failed_and_not_retried() -> None:
    clock, store, _receiver, deliverer = await setup(
        ReceiverError("400 invalid routing key", retryable=False)
    )
    await store.commit(Commit(T0, "t", outbox=(entry("a"),)))
    await deliverer.deliver_due("pager")
    clock.advance(3600)
    assert await deliverer.deliver_due("pager") == 0
    (failed,) = await store.outbox()
    assert failed.status is Delivery.FAILED
    assert failed.last_error == "400 invalid routing key"


async def test_an_undeliverable_notification_expires_and_is_counted() -> None:
    failures = [ReceiverError("timeout", retryable=True, retry_after=600) for _ in range(10)]
    clock, store, _receiver, deliverer = await setup(*failures)
    await store.commit(Commit(T0, "t", outbox=(entry("a"),)))
    for _ in range(8):
        await deliverer.deliver_due("pager")
        clock.advance(600)
    (expired,) = await store.outbox()
    assert expired.status is Delivery.EXPIRED
    assert deliverer.counters["pager"].expired == 1


async def test_a_resolve_replaces_a_trigger_still_retrying_and_goes_alone() -> None:
    clock, store, receiver, deliverer = await setup(
        ReceiverError("timeout", retryable=True, retry_after=30)
    )
    await store.commit(Commit(T0, "t", outbox=(entry("trigger"),)))
    await deliverer.deliver_due("pager")  # the trigger times out: it may have arrived
    clock.advance(10)
    await store.commit(Commit(T0, "t", outbox=(entry("resolve", firing=False, created=10),)))
    await deliverer.deliver_due("pager")
    clock.advance(30)
    await deliverer.deliver_due("pager")
    assert [body for _, body in receiver.sent] == ["resolve"]
    statuses = {e.id: e.status for e in await store.outbox()}
    assert statuses == {"trigger": Delivery.SUPERSEDED, "resolve": Delivery.DELIVERED}


async def test_the_rate_limit_spaces_sends() -> None:
    clock = FakeClock(T0)
    limit = RateLimit(clock, rate=2.0)
    for _ in range(5):
        await limit.acquire()
    assert clock.now() - T0 == dt.timedelta(seconds=2)  # 1 at once, then one per 0.5 s


async def test_a_rate_limited_receiver_neither_holds_up_another_nor_overruns_the_drain() -> None:
    clock = FakeClock(T0)
    store = MemoryStore()
    pager, chat = Scripted(clock), Scripted(clock)
    pager.name, chat.name = "pager", "chat"
    deliverer = Deliverer(
        store, {"pager": pager, "chat": chat}, clock, rates={"pager": 1.0, "chat": 100.0}
    )
    pages = tuple(entry(f"p{i}", group=f"g{i}") for i in range(30))
    chats = tuple(
        OutboxEntry(
            Notification(f"c{i}", "chat", f"c{i}", (), True, (), T0),
            expires_at=T0 + dt.timedelta(hours=1),
            next_attempt_at=T0,
        )
        for i in range(3)
    )
    await store.commit(Commit(T0, "t", outbox=pages + chats))

    await deliverer.drain(10)

    assert [body for _, body in chat.sent] == ["c0", "c1", "c2"]
    assert chat.sent[-1][0] <= pager.sent[2][0]  # side by side, not behind the pages
    assert clock.now() <= T0 + dt.timedelta(seconds=10)
    assert len(pager.sent) == 11  # one at once, then one a second until the deadline
    left = await store.outbox(status=Delivery.PENDING)
    assert len(left) == 19
    assert all(e.attempts == 0 for e in left)  # left untouched for the next start


class Blocking(Scripted):
    """A receiver whose send is in flight until released."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.started = anyio.Event()
        self.release = anyio.Event()

    async def send(self, payload: Payload) -> Delivered:
        self.started.set()
        await self.release.wait()
        return await super().send(payload)


async def test_a_stop_lets_a_send_in_flight_finish_and_be_recorded_so_it_is_not_sent_again() -> (
    None
):
    clock = FakeClock(T0)
    store = MemoryStore()
    receiver = Blocking(clock)
    deliverer = Deliverer(store, {"pager": receiver}, clock, rates={"pager": 100.0})
    await store.commit(Commit(T0, "t", outbox=(entry("trigger"),)))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(deliverer.run)
        await receiver.started.wait()
        tasks.cancel_scope.cancel()  # the daemon stops while the service holds the request
        receiver.release.set()
    (done,) = await store.outbox()
    assert done.status is Delivery.DELIVERED
    await deliverer.drain(5)
    assert [body for _, body in receiver.sent] == ["trigger"]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_resolve_committed_while_its_trigger_is_in_flight_is_owed_even_after_a_crash(
    kind: str, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    store: MemoryStore | SqliteStore = (
        MemoryStore() if kind == "memory" else await SqliteStore.open(tmp_path / "alertd.db")
    )
    receiver = Blocking(clock)
    deliverer = Deliverer(store, {"pager": receiver}, clock, rates={"pager": 100.0})
    await store.commit(Commit(T0, "t", outbox=(entry("trigger"),)))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(deliverer.run)
        await receiver.started.wait()  # the service may already hold the trigger
        await store.commit(Commit(T0, "t", outbox=(entry("resolve", firing=False, created=1),)))
        # What a process killed now leaves: the trigger's outcome is not recorded yet.
        killed_now = {e.id: e for e in await store.outbox()}
        receiver.release.set()
        tasks.cancel_scope.cancel()
    await store.aclose()
    assert killed_now["trigger"].attempts == 1
    assert killed_now["resolve"].status is Delivery.PENDING


async def test_notifications_for_an_unconfigured_receiver_wait_until_their_age_limit() -> None:
    clock, store, _, deliverer = await setup()

    def for_removed(id: str, hours: int) -> OutboxEntry:
        return OutboxEntry(
            dataclasses.replace(entry(id, group=id).notification, receiver="removed"),
            expires_at=T0 + dt.timedelta(hours=hours),
            next_attempt_at=T0,
        )

    backlog = (for_removed("old", 1), for_removed("young", 6), entry("kept"))
    await store.commit(Commit(T0, "t", outbox=backlog))
    clock.advance(2 * 3600)
    # The receiver's secret may only be missing for now: what is young enough waits.
    assert await deliverer.expire_unconfigured() == (1, 1)
    statuses = {e.id: e.status for e in await store.outbox()}
    assert statuses == {
        "old": Delivery.EXPIRED,
        "young": Delivery.PENDING,
        "kept": Delivery.PENDING,
    }
    assert deliverer.counters["removed"].expired == 1


async def test_an_unreadable_row_does_not_hold_up_the_rest_of_its_receivers_queue(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    store = await SqliteStore.open(tmp_path / "alertd.db")
    try:
        receiver = Scripted(clock)
        deliverer = Deliverer(store, {"pager": receiver}, clock, rates={"pager": 100.0})
        queue = tuple(entry(f"n{i}", group=f"g{i}", created=i) for i in range(3))
        await store.commit(Commit(T0, "t", outbox=queue))
        with closing(sqlite3.connect(tmp_path / "alertd.db", isolation_level=None)) as conn:
            conn.execute("UPDATE outbox SET notification = '{' WHERE id = 'n1'")
        clock.advance(3)

        await deliverer.deliver_due("pager")
        await deliverer.deliver_due("pager")

        assert [body for _, body in receiver.sent] == ["n0", "n2"]
        with closing(sqlite3.connect(tmp_path / "alertd.db", isolation_level=None)) as conn:
            found = conn.execute("SELECT status, last_error FROM outbox WHERE id = 'n1'")
            assert found.fetchone() == (
                "failed",
                "cannot be read: JSONDecodeError: "
                "Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)",
            )
    finally:
        await store.aclose()


async def test_a_storm_sends_no_trigger_for_an_alert_that_resolved_while_it_waited() -> None:
    clock = ScheduledClock(T0)
    store = MemoryStore()
    receiver = Scripted(clock)
    deliverer = Deliverer(store, {"pager": receiver}, clock, rates={"pager": 1.0})
    triggers = tuple(entry(f"trigger-{i}", group=f"g{i}") for i in range(10))
    await store.commit(Commit(T0, "t", outbox=triggers))
    resolved_at = T0 + dt.timedelta(seconds=3.5)
    resolves = tuple(
        entry(f"resolve-{i}", group=f"g{i}", firing=False, created=3.5) for i in range(10)
    )

    async def all_resolve() -> None:
        await store.commit(Commit(resolved_at, "t", outbox=resolves))

    # The triggers wait their turn, one a second; every alert resolves meanwhile.
    clock.at(resolved_at, all_resolve)
    await deliverer.deliver_due("pager")
    await deliverer.deliver_due("pager")

    sent = [body for _, body in receiver.sent]
    # Sent before the resolves: their resolves follow. The rest: neither goes.
    assert sent == [f"trigger-{i}" for i in range(4)] + [f"resolve-{i}" for i in range(4)]
    left = {e.id: e.status for e in await store.outbox() if e.status is not Delivery.DELIVERED}
    assert left == {
        f"{kind}-{i}": Delivery.SUPERSEDED for i in range(4, 10) for kind in ("trigger", "resolve")
    }
    # Skipping a superseded entry costs no turn under the rate limit.
    assert clock.now() - T0 < dt.timedelta(seconds=8)


async def test_a_slack_resolve_updates_the_message_sent_when_the_updates_between_were_superseded(
    fake: FakeServices,
) -> None:
    clock, store = FakeClock(T0), MemoryStore()

    def queued(n: Notification, seconds: int) -> OutboxEntry:
        at = T0 + dt.timedelta(seconds=seconds)
        n = dataclasses.replace(n, created_at=at)
        return OutboxEntry(n, expires_at=at + dt.timedelta(hours=1), next_attempt_at=at)

    trigger = dataclasses.replace(fakes.notification(), id="trigger")
    worse = fakes.alert(labels=(("table", "pitches"),), fingerprint="fp-pitches")
    update = dataclasses.replace(fakes.notification(fakes.alert(), worse), id="update")
    resolve = dataclasses.replace(fakes.resolved(trigger), id="resolve")
    async with httpx.AsyncClient() as client:
        bot = SlackBotReceiver(
            "ops",
            SecretStr(fakes.SLACK_BOT_TOKEN),
            "#alerts",
            client=client,
            api_url=f"{fake.base_url}/slack/api",
        )
        deliverer = Deliverer(store, {"ops": bot}, clock, rates={"ops": 100.0})
        await store.commit(Commit(T0, "t", outbox=(queued(trigger, 0),)))
        await deliverer.deliver_due("ops")
        clock.advance(120)
        await store.commit(Commit(T0, "t", outbox=(queued(update, 60),)))
        await store.commit(Commit(T0, "t", outbox=(queued(resolve, 120),)))
        await deliverer.deliver_due("ops")
        await deliverer.deliver_due("ops")

    calls = [(r.path.rsplit("/", 1)[-1], r.json().get("ts")) for r in fake.slack_api.requests]
    posted = "1740830400.000001"
    # The trigger's message is edited in place, with a note in its thread; no update posted.
    assert calls == [
        ("chat.postMessage", None),
        ("chat.update", posted),
        ("chat.postMessage", None),
    ]
    assert fake.slack_api.requests[2].json()["thread_ts"] == posted
    statuses = {e.id: e.status for e in await store.outbox()}
    assert statuses == {
        "trigger": Delivery.DELIVERED,
        "update": Delivery.SUPERSEDED,
        "resolve": Delivery.DELIVERED,
    }


async def test_a_slack_bot_group_keeps_one_message_updated_through_every_change_and_resolve(
    fake: FakeServices,
) -> None:
    clock, store = FakeClock(T0), MemoryStore()

    def queued(n: Notification, seconds: int) -> OutboxEntry:
        at = T0 + dt.timedelta(seconds=seconds)
        n = dataclasses.replace(n, created_at=at)
        return OutboxEntry(n, expires_at=at + dt.timedelta(hours=1), next_attempt_at=at)

    trigger = dataclasses.replace(fakes.notification(), id="trigger")
    worse = fakes.alert(labels=(("table", "pitches"),), fingerprint="fp-pitches")
    update = dataclasses.replace(fakes.notification(fakes.alert(), worse), id="update")
    resolve = dataclasses.replace(fakes.resolved(update), id="resolve")
    async with httpx.AsyncClient() as client:
        bot = SlackBotReceiver(
            "ops",
            SecretStr(fakes.SLACK_BOT_TOKEN),
            "#alerts",
            client=client,
            api_url=f"{fake.base_url}/slack/api",
        )
        deliverer = Deliverer(store, {"ops": bot}, clock, rates={"ops": 100.0})
        for entry, seconds in ((trigger, 0), (update, 300), (resolve, 600)):
            clock.advance(seconds - (clock.now() - T0).total_seconds())
            await store.commit(Commit(clock.now(), "t", outbox=(queued(entry, seconds),)))
            await deliverer.deliver_due("ops")

    calls = [(r.path.rsplit("/", 1)[-1], r.json().get("ts")) for r in fake.slack_api.requests]
    posted = "1740830400.000001"
    assert calls == [
        ("chat.postMessage", None),
        ("chat.update", posted),  # the change: the one message now says FIRING:2
        ("chat.postMessage", None),  # and its thread says so
        ("chat.update", posted),  # the resolve
        ("chat.postMessage", None),
    ]
    messages = fake.slack_api.messages
    top = [body for body in messages.values() if "thread_ts" not in body]
    (only,) = top
    assert only["text"].startswith("[RESOLVED]")  # no message of the group says FIRING
    replies = [body["text"].split("\n")[0] for body in messages.values() if "thread_ts" in body]
    assert replies == [
        "[FIRING:2] SlowQueryP95 (table=users)",
        "[RESOLVED] SlowQueryP95 (table=users)",
    ]
    assert {e.status for e in await store.outbox()} == {Delivery.DELIVERED}
