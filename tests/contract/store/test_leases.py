"""Leases on PostgreSQL: replicas sharing one database split the rule groups and the
notification pipeline between them, take over what a dead or frozen replica held, and a
replica that lost a lease can write nothing under it. A store one process owns (memory,
SQLite) holds every lease."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from alertd.clock import FakeClock
from alertd.errors import LeaseLostError
from alertd.model import Delivery
from alertd.store.base import Commit
from alertd.store.leases import LeaseKeeper, share
from alertd.store.memory import MemoryStore
from alertd.store.ownership import NOTIFY_LEASE, SoleOwner, group_lease, lease_of_commit
from alertd.store.postgres import PostgresStore
from alertd.store.sqlite import SqliteStore
from tests.contract.store.builders import FP, T0, at, enqueue, entry, firing

pytestmark = pytest.mark.anyio

GROUPS = ("api", "database", "errors")
ALL = [*sorted(group_lease(g) for g in GROUPS), NOTIFY_LEASE]


@dataclasses.dataclass
class Replica:
    store: PostgresStore
    keeper: LeaseKeeper


class Replicas:
    """Replicas (a store and its lease keeper) on one database, sharing a clock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = FakeClock(T0)
        self.opened: list[PostgresStore] = []

    async def open(self, name: str) -> Replica:
        store = await PostgresStore.open(self.url)
        self.opened.append(store)
        keeper = store.lease_keeper(self.clock, seconds=30, replica=name)
        keeper.want(GROUPS)
        return Replica(store, keeper)


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[Replicas]:
    opened = Replicas(pg_url)
    yield opened
    for store in opened.opened:
        await store.aclose()


def sql(url: str, statement: str, *args: object) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.encode(), args)


def expire(url: str, replica: str) -> None:
    """What the database sees of a replica that stopped (killed, frozen): its leases run
    out and it stops beating. Done by moving its rows back in time instead of waiting."""
    sql(url, "UPDATE leases SET expires_at = now() - interval '1s' WHERE holder = %s", replica)
    sql(url, "UPDATE replicas SET seen_at = now() - interval '1h' WHERE id = %s", replica)


def tick(group: str) -> Commit:
    return Commit(at=at(30), group=group, states=(firing(),))


async def test_one_replica_holds_every_group_and_the_notification_pipeline(
    replicas: Replicas,
) -> None:
    a = await replicas.open("a")
    await a.keeper.beat()
    assert a.keeper.held() == ALL
    assert a.keeper.leader == "a"
    assert a.keeper.live == ["a"]


async def test_two_replicas_split_the_leases_and_none_is_held_twice(
    replicas: Replicas,
) -> None:
    a = await replicas.open("a")
    b = await replicas.open("b")
    await a.keeper.beat()
    await b.keeper.beat()  # finds everything taken, while a is not over its share
    assert (len(a.keeper.held()), len(b.keeper.held())) == (4, 0)
    await a.keeper.beat()  # a sees b starving: gives back down to its share
    await b.keeper.beat()
    await a.keeper.beat()
    assert sorted(a.keeper.held() + b.keeper.held()) == ALL
    assert (len(a.keeper.held()), len(b.keeper.held())) == (2, 2)
    assert NOTIFY_LEASE in a.keeper.held()  # the leader keeps the pipeline


async def test_a_dead_replicas_leases_move_with_new_greater_tokens(
    replicas: Replicas, pg_url: str
) -> None:
    a = await replicas.open("a")
    b = await replicas.open("b")
    await a.keeper.beat()
    old = {name: a.keeper.token(name) for name in ALL}
    expire(pg_url, "a")
    await b.keeper.beat()
    assert b.keeper.held() == ALL
    assert b.keeper.leader == "b"
    new = {name: b.keeper.token(name) or 0 for name in ALL}
    assert all(new[name] > (old[name] or 0) for name in ALL), (old, new)


async def test_a_replica_that_lost_its_lease_writes_nothing_and_records_no_send(
    replicas: Replicas, pg_url: str
) -> None:
    a = await replicas.open("a")
    b = await replicas.open("b")
    await a.keeper.beat()
    await a.store.commit(enqueue(entry("n1")))
    # `a` freezes past its lease; `b` takes over. `a` wakes still believing it holds them.
    expire(pg_url, "a")
    await b.keeper.beat()
    assert a.keeper.held() == ALL
    with pytest.raises(LeaseLostError, match="lease 'group:database'"):
        await a.store.commit(tick("database"))
    with pytest.raises(LeaseLostError, match="lease 'notify'"):
        await a.store.commit(enqueue(entry("n2")))
    (pending,) = await a.store.outbox()
    with pytest.raises(LeaseLostError):
        await a.store.record(dataclasses.replace(pending, attempts=1))
    assert await b.store.load() == {}
    (still,) = await b.store.outbox()
    assert (still.id, still.status, still.attempts) == ("n1", Delivery.PENDING, 0)
    # The new holder writes.
    await b.store.commit(tick("database"))
    await b.store.record(dataclasses.replace(still, attempts=1))
    assert list(await a.store.load()) == [FP]


async def test_a_write_outside_the_held_leases_is_refused(
    replicas: Replicas,
) -> None:
    a = await replicas.open("a")
    with pytest.raises(LeaseLostError):  # before its first beat it holds nothing
        await a.store.commit(tick("api"))
    await a.keeper.beat()
    with pytest.raises(LeaseLostError, match="group:unknown"):
        await a.store.commit(tick("unknown"))
    await a.store.commit(tick("api"))


async def test_a_clean_stop_hands_its_leases_over_at_once(replicas: Replicas, pg_url: str) -> None:
    a = await replicas.open("a")
    b = await replicas.open("b")
    await a.keeper.beat()
    await a.keeper.release_all()
    assert a.keeper.held() == []
    await b.keeper.beat()
    assert b.keeper.held() == ALL


async def test_leases_lapse_on_the_replicas_own_clock_when_it_cannot_renew(
    pg_url: str,
) -> None:
    clock = FakeClock(T0)
    store = await PostgresStore.open(pg_url)
    try:
        keeper = store.lease_keeper(clock, seconds=30, replica="a")
        await keeper.beat()
        clock.advance(29)
        assert keeper.token(NOTIFY_LEASE) is not None
        clock.advance(1)  # no beat for a whole lease: it acts as if it held nothing
        assert keeper.held() == []
        with pytest.raises(LeaseLostError):
            await store.commit(enqueue(entry("n1")))
    finally:
        await store.aclose()


def test_each_replica_takes_about_its_share() -> None:
    assert share(4, {"a": 0}, "a") == 4
    assert share(4, {"a": 4, "b": 0}, "a") == 2
    assert share(4, {"a": 2, "b": 2, "c": 0}, "a") == 1  # c starves: keep to the floor
    assert share(4, {"a": 1, "b": 1, "c": 1}, "a") == 2
    assert share(10, {"a": 4, "b": 3, "c": 3}, "c") == 4


def test_commits_fall_under_their_groups_lease_and_the_leader_does_the_rest() -> None:
    assert lease_of_commit("database") == "group:database"
    assert lease_of_commit("notify") == NOTIFY_LEASE
    assert lease_of_commit("retire") == NOTIFY_LEASE


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_store_one_process_owns_holds_every_lease(kind: str, tmp_path: Path) -> None:
    owner = SoleOwner()
    owner.want(GROUPS)
    assert owner.held() == ALL
    assert all(owner.token(name) is not None for name in ALL)
    store = MemoryStore() if kind == "memory" else await SqliteStore.open(tmp_path / "alertd.db")
    try:
        await store.commit(tick("database"))
        assert list(await store.load()) == [FP]
    finally:
        await store.aclose()
