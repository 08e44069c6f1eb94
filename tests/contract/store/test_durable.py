"""What every store that outlives its process keeps, held to one suite: the SQLite file and
the PostgreSQL database. A second store opened on the same place finds everything the
first wrote, commits from several tasks or stores never interleave, and a row that no
longer reads is set aside without hiding the rest."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from structlog.testing import capture_logs

from alertd.model import Delivery, SeriesPoint
from alertd.store.base import Commit, Store
from alertd.store.postgres import PostgresStore
from alertd.store.sqlite import SqliteStore
from tests.contract.store.builders import (
    FP,
    OTHER_FP,
    T0,
    at,
    enqueue,
    entry,
    firing,
    group_state,
    ids,
    point,
    silence,
    transition,
)

pytestmark = pytest.mark.anyio


@dataclass
class Place:
    """Where a durable store keeps its state: opens stores on it, and reads and writes
    its rows behind the store's back."""

    open: Callable[[], Awaitable[Store]]
    sql: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    if request.param == "sqlite":
        db = tmp_path / "alertd.db"

        def in_file(query: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(db, isolation_level=None)) as conn:
                return conn.execute(query.replace("%s", "?"), args).fetchall()

        return Place(lambda: SqliteStore.open(db), in_file)
    url: str = request.getfixturevalue("pg_url")

    def in_database(query: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(query.encode(), args)
            return cursor.fetchall() if cursor.description else []

    return Place(lambda: PostgresStore.open(url), in_database)


@pytest.fixture
async def store(place: Place) -> AsyncIterator[Store]:
    opened = await place.open()
    yield opened
    await opened.aclose()


async def test_alerts_history_and_transitions_are_the_same_after_a_restart(place: Place) -> None:
    first = await place.open()
    pending = replace(firing(OTHER_FP), firing_since=None)
    await first.commit(
        Commit(
            at=at(120.000001),
            group="database",
            states=(firing(), pending),
            transitions=(transition(at(60), reason="p95 above 200"),),
            points=(point(at(120.000001), 230.25),),
        )
    )
    await first.aclose()

    second = await place.open()
    try:
        assert await second.load() == {FP: firing(), OTHER_FP: pending}
        assert await second.transitions() == [transition(at(60), reason="p95 above 200")]
        assert await second.history(FP) == [point(at(120.000001), 230.25)]
    finally:
        await second.aclose()


async def test_groups_outbox_and_silences_are_the_same_after_a_restart(place: Place) -> None:
    queued, delivered = entry("n2", created=10), entry("n1", created=0)
    first = await place.open()
    await first.commit(
        Commit(at=T0, group="notify", groups=(group_state(),), outbox=(delivered, queued))
    )
    delivered = replace(delivered, status=Delivery.DELIVERED, attempts=1, ref="ts-1")
    await first.record(delivered)
    await first.add_silence(silence("s1", 0, 600))
    await first.expire_silence("s1", at(300))
    await first.aclose()

    second = await place.open()
    try:
        assert await second.load_groups() == {group_state().key: group_state()}
        assert await second.outbox() == [delivered, queued]
        assert await second.due("slack", at(10)) == [queued]
        assert await second.last_ref("slack", queued.notification.group_key) == "ts-1"
        assert await second.silences() == [silence("s1", 0, 300)]
    finally:
        await second.aclose()


async def test_concurrent_commits_from_two_tasks_do_not_interleave(store: Store) -> None:
    async def tick(group: str) -> None:
        for i in range(20):
            # Every commit writes three transitions at one shared time; only the order in
            # which commits ran separates them.
            await store.commit(
                Commit(
                    at=T0,
                    group=group,
                    transitions=tuple(transition(T0, reason=f"{group}-{i}") for _ in range(3)),
                    points=(SeriesPoint(group, at(i), float(i), 1),),
                )
            )

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick, "database")
        tg.start_soon(tick, "api")

    reasons = [t.reason for t in await store.transitions()]
    assert len(reasons) == 120
    runs = [reasons[i : i + 3] for i in range(0, 120, 3)]
    assert all(len(set(run)) == 1 for run in runs)
    assert {run[0] for run in runs} == {f"{g}-{i}" for g in ("database", "api") for i in range(20)}


async def test_two_stores_on_one_place_both_commit(place: Place, store: Store) -> None:
    other = await place.open()
    pending = replace(firing(OTHER_FP), firing_since=None)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(store.commit, Commit(at=T0, group="database", states=(firing(),)))
            tg.start_soon(other.commit, Commit(at=T0, group="api", states=(pending,)))
        assert await other.load() == {FP: firing(), OTHER_FP: pending}
    finally:
        await other.aclose()


@pytest.mark.parametrize(
    ("column", "damage"),
    [
        ("notification", "{not json"),
        ("notification", '{"id": "bad"}'),
        ("expires_at", "the day after tomorrow"),
    ],
)
async def test_an_unreadable_pending_row_is_set_aside_and_the_rest_stay_due(
    place: Place, store: Store, column: str, damage: str
) -> None:
    await store.commit(
        enqueue(entry("before", group_key="a"), entry("bad", group_key="b", created=1))
    )
    await store.commit(enqueue(entry("after", group_key="c", created=2)))
    place.sql(f"UPDATE outbox SET {column} = %s WHERE id = 'bad'", (damage,))

    with capture_logs() as logs:
        assert ids(await store.due("slack", at(10))) == ["before", "after"]

    [(status, last_error, finished_at)] = place.sql(
        "SELECT status, last_error, finished_at FROM outbox WHERE id = 'bad'", ()
    )
    assert status == "failed"
    assert last_error.startswith("cannot be read: ")
    assert finished_at == "2025-03-01T12:00:10.123456+00:00"
    [logged] = [e for e in logs if e["event"] == "outbox.unreadable_set_aside"]
    assert (logged["log_level"], logged["notification"]) == ("error", "bad")
    assert ids(await store.due("slack", at(10))) == ["before", "after"]
    assert ids(await store.outbox()) == ["before", "after"]  # the listing skips it too
