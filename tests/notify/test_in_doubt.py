"""A send in doubt: the leader marked it, posted, and never recorded the answer (killed, or
its lease lost mid-send); its successor asks Slack before posting again."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.errors import LeaseLostError
from alertd.model import Delivery, Notification, OutboxEntry
from alertd.notify.delivery import Deliverer
from alertd.notify.receivers import SlackBotReceiver
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from tests.notify import fakes
from tests.notify.fakes import FakeServices

T0 = fakes.T0
pytestmark = pytest.mark.anyio


class LostBeforeRecord(MemoryStore):
    """A store that, while `leader_lost`, takes the mark of a send but refuses its
    delivered outcome, as the store does to a leader whose lease moved while it sent."""

    leader_lost = True

    async def record(self, entry: OutboxEntry) -> None:
        if self.leader_lost and entry.status is Delivery.DELIVERED:
            raise LeaseLostError("the notification lease is held by another replica")
        await super().record(entry)


@pytest.fixture
def slack(fake: FakeServices) -> Iterator[FakeServices]:
    fake.slack_api.epoch = int(T0.timestamp())  # messages are posted "now", at T0
    yield fake
    fake.slack_api.epoch = 1740830400


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def bot(fake: FakeServices, client: httpx.AsyncClient, channel: str) -> SlackBotReceiver:
    return SlackBotReceiver(
        "ops",
        SecretStr(fakes.SLACK_BOT_TOKEN),
        channel,
        client=client,
        api_url=f"{fake.base_url}/slack/api",
    )


def queued(n: Notification) -> OutboxEntry:
    return OutboxEntry(n, expires_at=n.created_at + dt.timedelta(hours=1), next_attempt_at=T0)


def methods(fake: FakeServices) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in fake.slack_api.requests]


async def cut_off_after_posting(
    fake: FakeServices, client: httpx.AsyncClient, channel: str
) -> LostBeforeRecord:
    """The old leader posts the trigger and cannot record it: the entry stays pending,
    its attempt counted."""
    store = LostBeforeRecord()
    await store.commit(Commit(T0, "t", outbox=(queued(fakes.notification()),)))
    old = Deliverer(store, {"ops": bot(fake, client, channel)}, FakeClock(T0))
    await old.deliver_due("ops")
    (left,) = await store.outbox()
    assert (left.status, left.attempts) == (Delivery.PENDING, 1)
    assert methods(fake) == ["chat.postMessage"]
    return store


async def successor(store: LostBeforeRecord, receiver: SlackBotReceiver) -> Deliverer:
    """The new leader, on the same shared outbox; its lease holds."""
    store.leader_lost = False
    clock = FakeClock(T0 + dt.timedelta(seconds=30))
    deliverer = Deliverer(store, {"ops": receiver}, clock)
    await deliverer.deliver_due("ops")
    return deliverer


async def test_the_successor_finds_the_post_by_its_metadata_and_does_not_post_again(
    slack: FakeServices, client: httpx.AsyncClient
) -> None:
    store = await cut_off_after_posting(slack, client, fakes.SLACK_CHANNEL_ID)
    (posted,) = slack.slack_api.messages
    new = await successor(store, bot(slack, client, fakes.SLACK_CHANNEL_ID))

    assert methods(slack) == ["chat.postMessage", "conversations.history"]
    (entry,) = await new.store.outbox()
    assert entry.status is Delivery.DELIVERED
    assert entry.ref == f"{fakes.SLACK_CHANNEL_ID}:{posted}"
    # The resolve edits that one message, so no message of the group keeps saying FIRING.
    resolve = dataclasses.replace(fakes.resolved(fakes.notification()), id="n-0002")
    await new.store.commit(Commit(T0, "t", outbox=(queued(resolve),)))
    await new.deliver_due("ops")
    update = slack.slack_api.requests[-2]
    assert update.path.endswith("/chat.update")
    assert update.json()["ts"] == posted
    top = [body for body in slack.slack_api.messages.values() if "thread_ts" not in body]
    assert len(top) == 1
    assert top[0]["text"].startswith("[RESOLVED]")


async def test_a_marked_attempt_that_never_reached_slack_is_posted_by_the_successor(
    slack: FakeServices, client: httpx.AsyncClient
) -> None:
    store = await cut_off_after_posting(slack, client, fakes.SLACK_CHANNEL_ID)
    slack.slack_api.messages.clear()  # as if the post had not arrived
    new = await successor(store, bot(slack, client, fakes.SLACK_CHANNEL_ID))

    assert methods(slack) == ["chat.postMessage", "conversations.history", "chat.postMessage"]
    (entry,) = await new.store.outbox()
    assert entry.status is Delivery.DELIVERED
    assert entry.attempts == 2


async def test_a_rate_limited_lookup_retries_later_instead_of_posting_again(
    slack: FakeServices, client: httpx.AsyncClient
) -> None:
    store = await cut_off_after_posting(slack, client, fakes.SLACK_CHANNEL_ID)
    slack.slack_api.then(fakes.Answer(429, {"ok": False}, {"Retry-After": "30"}))
    new = await successor(store, bot(slack, client, fakes.SLACK_CHANNEL_ID))

    assert methods(slack) == ["chat.postMessage", "conversations.history"]
    (entry,) = await new.store.outbox()
    assert (entry.status, entry.attempts) == (Delivery.PENDING, 2)
    assert entry.next_attempt_at == new.clock.now() + dt.timedelta(seconds=30)


async def test_a_channel_named_not_by_id_cannot_be_searched_and_is_posted_again(
    slack: FakeServices, client: httpx.AsyncClient
) -> None:
    store = await cut_off_after_posting(slack, client, "#alerts")
    await successor(store, bot(slack, client, "#alerts"))

    # conversations.history takes only IDs: with a name the send is made again.
    assert methods(slack) == ["chat.postMessage", "chat.postMessage"]


async def test_a_resolve_that_superseded_a_trigger_in_doubt_updates_the_triggers_post(
    slack: FakeServices, client: httpx.AsyncClient
) -> None:
    store = await cut_off_after_posting(slack, client, fakes.SLACK_CHANNEL_ID)
    (posted,) = slack.slack_api.messages
    # The alert resolves before any leader settles the trigger: the resolve supersedes it.
    resolve = dataclasses.replace(fakes.resolved(fakes.notification()), id="n-0002")
    await store.commit(Commit(T0, "t", outbox=(queued(resolve),)))
    statuses = {e.id: e.status for e in await store.outbox()}
    assert statuses == {"n-0001": Delivery.SUPERSEDED, "n-0002": Delivery.PENDING}

    await successor(store, bot(slack, client, fakes.SLACK_CHANNEL_ID))

    assert methods(slack) == [
        "chat.postMessage",
        "conversations.history",
        "chat.update",
        "chat.postMessage",  # the resolve's reply in the thread
    ]
    assert slack.slack_api.requests[2].json()["ts"] == posted
    top = [body for body in slack.slack_api.messages.values() if "thread_ts" not in body]
    assert len(top) == 1
    assert top[0]["text"].startswith("[RESOLVED]")
