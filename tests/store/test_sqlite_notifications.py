"""What only the SQLite store adds to the notification role: its state outlives the
process, and a damaged row is set aside."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from alertd.errors import StoreError
from alertd.model import (
    Delivery,
)
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore
from tests.contract.store.builders import (
    FP,
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


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "alertd.db"


async def test_groups_outbox_and_silences_are_the_same_after_a_restart(db: Path) -> None:
    queued, delivered = entry("n2", created=10), entry("n1", created=0)
    first = await SqliteStore.open(db)
    await first.commit(
        Commit(at=T0, group="notify", groups=(group_state(),), outbox=(delivered, queued))
    )
    delivered = replace(delivered, status=Delivery.DELIVERED, attempts=1, ref="ts-1")
    await first.record(delivered)
    await first.add_silence(silence("s1", 0, 600))
    await first.expire_silence("s1", at(300))
    await first.aclose()

    second = await SqliteStore.open(db)
    try:
        assert await second.load_groups() == {group_state().key: group_state()}
        assert await second.outbox() == [delivered, queued]
        assert await second.due("slack", at(10)) == [queued]
        assert await second.last_ref("slack", queued.notification.group_key) == "ts-1"
        assert await second.silences() == [silence("s1", 0, 300)]
    finally:
        await second.aclose()


async def test_a_failure_while_enqueueing_rolls_the_whole_tick_back(db: Path) -> None:
    store = await SqliteStore.open(db)
    try:
        await store.commit(Commit(at=T0, group="database", groups=(group_state("kept"),)))
        # A real failure inside the transaction, after everything but the outbox was written.
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON outbox"
                " BEGIN SELECT RAISE(ABORT, 'disk said no'); END"
            )

        with pytest.raises(StoreError, match="disk said no"):
            await store.commit(
                Commit(
                    at=at(30),
                    group="database",
                    states=(firing(),),
                    transitions=(transition(at(30)),),
                    points=(point(at(30)),),
                    groups=(group_state("new"),),
                    dropped_groups=("kept",),
                    outbox=(entry("n1"),),
                )
            )

        assert await store.load() == {}
        assert await store.transitions() == []
        assert await store.history(FP) == []
        assert await store.load_groups() == {"kept": group_state("kept")}
        assert await store.outbox() == []
    finally:
        await store.aclose()


async def test_a_file_from_before_the_outbox_is_migrated_keeping_its_alerts(db: Path) -> None:
    first = await SqliteStore.open(db)
    await first.commit(Commit(at=T0, group="database", states=(firing(),)))
    await first.aclose()
    # Undo the second step, leaving the file as the first schema wrote it.
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        for table in ("notify_groups", "outbox", "silences"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_version WHERE version > 1")

    second = await SqliteStore.open(db)
    try:
        assert await second.load() == {FP: firing()}
        await second.commit(enqueue(entry("n1")))
        assert ids(await second.outbox()) == ["n1"]
    finally:
        await second.aclose()


@pytest.mark.parametrize(
    ("column", "damage"),
    [
        ("notification", "{not json"),
        ("notification", '{"id": "bad"}'),
        ("expires_at", "the day after tomorrow"),
    ],
)
async def test_an_unreadable_pending_row_is_set_aside_and_the_rest_stay_due(
    db: Path, column: str, damage: str
) -> None:
    store = await SqliteStore.open(db)
    try:
        await store.commit(
            enqueue(entry("before", group_key="a"), entry("bad", group_key="b", created=1))
        )
        await store.commit(enqueue(entry("after", group_key="c", created=2)))
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute(f"UPDATE outbox SET {column} = ? WHERE id = 'bad'", (damage,))

        with capture_logs() as logs:
            assert ids(await store.due("slack", at(10))) == ["before", "after"]

        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            status, last_error, finished_at = conn.execute(
                "SELECT status, last_error, finished_at FROM outbox WHERE id = 'bad'"
            ).fetchone()
        assert status == "failed"
        assert last_error.startswith("cannot be read: ")
        assert finished_at == "2025-03-01T12:00:10.123456+00:00"
        [logged] = [e for e in logs if e["event"] == "outbox.unreadable_set_aside"]
        assert (logged["log_level"], logged["notification"]) == ("error", "bad")
        assert ids(await store.due("slack", at(10))) == ["before", "after"]
        assert ids(await store.outbox()) == ["before", "after"]  # the listing skips it too
    finally:
        await store.aclose()
