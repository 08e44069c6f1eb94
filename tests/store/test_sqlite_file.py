"""The daemon's store keeps its file: a state directory deleted or replaced while it runs
is written back from the open database, so the next start finds everything."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from alertd.errors import StoreError, StoreInUseError
from alertd.model import Delivery
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore
from alertd.store.sqlite_file import KeptFile
from alertd.store.state_lock import LOCK_NAME, StateLock
from tests.contract.store.builders import (
    OTHER_FP,
    T0,
    at,
    entry,
    firing,
    group_state,
    silence,
    transition,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "alertd.db"


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(db, exclusive=True)
    yield opened
    await opened.aclose()


BEFORE = Commit(
    at=at(60),
    group="database",
    states=(firing(),),
    transitions=(transition(at(60), reason="before"),),
    groups=(group_state(),),
    outbox=(entry("trigger"),),
)
AFTER = Commit(
    at=at(120),
    group="database",
    states=(firing(OTHER_FP),),
    transitions=(transition(at(120), OTHER_FP, reason="after"),),
    groups=(group_state("slack/{table=pitches}"),),
    outbox=(entry("resolve", created=120, firing=False),),
)


async def write_before_and_after(store: SqliteStore, lose_file: object) -> None:
    """BEFORE, a silence and a delivery, then `lose_file()`, then AFTER and another silence."""
    await store.commit(BEFORE)
    await store.add_silence(silence("s-before", 0, 3600))
    [queued] = await store.due("slack", at(0))
    await store.record(dataclasses.replace(queued, status=Delivery.DELIVERED, ref="ts-1"))
    assert callable(lose_file)
    lose_file()
    await store.commit(AFTER)
    await store.add_silence(silence("s-after", 120, 3600))


async def assert_everything_is_there(db: Path) -> None:
    reopened = await SqliteStore.open(db)
    try:
        assert set(await reopened.load()) == {firing().fingerprint, OTHER_FP}
        assert [t.reason for t in await reopened.transitions()] == ["before", "after"]
        assert set(await reopened.load_groups()) == {"slack/{table=users}", "slack/{table=pitches}"}
        assert [(e.id, e.status) for e in await reopened.outbox()] == [
            ("trigger", Delivery.DELIVERED),
            ("resolve", Delivery.PENDING),
        ]
        assert await reopened.last_ref("slack", "slack/{table=users}") == "ts-1"
        assert [s.id for s in await reopened.silences()] == ["s-before", "s-after"]
    finally:
        await reopened.aclose()


async def test_a_deleted_state_directory_is_written_back_with_everything(
    db: Path, store: SqliteStore
) -> None:
    with capture_logs() as logs:
        await write_before_and_after(store, lambda: shutil.rmtree(db.parent))

    assert await anyio.Path(db).is_file()
    assert await anyio.Path(db.parent / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    lost = [e for e in logs if e["event"] == "store.file_lost"]
    assert [(e["log_level"], e["found"], e["lock_file"]) for e in lost] == [
        ("error", "nothing", "lost")
    ]
    await assert_everything_is_there(db)


async def test_a_deleted_state_file_is_written_back_with_everything(
    db: Path, store: SqliteStore
) -> None:
    await write_before_and_after(store, db.unlink)

    await assert_everything_is_there(db)


async def test_a_directory_deleted_again_later_is_written_back_again(
    db: Path, store: SqliteStore
) -> None:
    await store.commit(BEFORE)
    shutil.rmtree(db.parent)
    await store.commit(AFTER)
    shutil.rmtree(db.parent)
    await store.add_silence(silence("s-late", 0, 60))

    reopened = await SqliteStore.open(db)
    try:
        assert len(await reopened.load()) == 2
        assert [s.id for s in await reopened.silences()] == ["s-late"]
    finally:
        await reopened.aclose()


async def test_a_file_put_in_its_place_is_set_aside_and_the_store_written_back(
    db: Path, store: SqliteStore, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE note (text TEXT)")
        conn.execute("INSERT INTO note VALUES ('kept')")
        conn.commit()

    await write_before_and_after(store, lambda: os.replace(other, db))

    await assert_everything_is_there(db)
    with closing(sqlite3.connect(db.with_name("alertd.db.replaced"))) as conn:
        assert conn.execute("SELECT text FROM note").fetchall() == [("kept",)]


async def test_a_directory_another_daemon_took_meanwhile_is_left_to_it(
    db: Path, store: SqliteStore
) -> None:
    await store.commit(BEFORE)
    shutil.rmtree(db.parent)
    db.parent.mkdir()
    other = StateLock.acquire(db.parent)
    try:
        with pytest.raises(StoreInUseError) as caught:
            await store.commit(AFTER)
        assert caught.value.holder == os.getpid()
        assert not await anyio.Path(db).exists()
    finally:
        other.release()


async def test_a_store_opened_beside_the_daemon_does_not_write_the_file_back(db: Path) -> None:
    daemon = await SqliteStore.open(db, exclusive=True)
    beside = await SqliteStore.open(db)
    try:
        shutil.rmtree(db.parent)
        await beside.add_silence(silence("s", 0, 60))
        assert not db.parent.exists()
    finally:
        await beside.aclose()
        await daemon.aclose()


async def test_a_closed_store_writes_nothing_back(db: Path, store: SqliteStore) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(),)))
    await store.aclose()
    shutil.rmtree(db.parent)

    with pytest.raises(StoreError, match="closed"):
        await store.load()
    assert not db.parent.exists()


async def test_a_deleted_lock_file_is_made_again_so_a_second_daemon_stays_out(
    db: Path, store: SqliteStore
) -> None:
    await store.commit(BEFORE)
    await anyio.Path(db.parent / LOCK_NAME).unlink()

    await store.commit(AFTER)

    assert await anyio.Path(db.parent / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    with pytest.raises(StoreInUseError):
        await SqliteStore.open(db, exclusive=True)
    assert len(await store.load()) == 2


async def test_a_directory_that_cannot_be_made_again_yet_is_retried_and_logged_once(
    db: Path, store: SqliteStore
) -> None:
    await store.commit(BEFORE)
    shutil.rmtree(db.parent)
    await anyio.Path(db.parent).write_text("a file where the directory was\n")

    with capture_logs() as logs:
        await store.commit(AFTER)
        await store.add_silence(silence("s-meanwhile", 0, 60))
        assert len(await store.load()) == 2  # the open file took every write
        await anyio.Path(db.parent).unlink()
        await store.add_silence(silence("s-after", 0, 60))

    events = [e["event"] for e in logs if e["log_level"] in ("error", "warning")]
    assert events == ["store.file_lost", "store.restore_failed", "store.file_restored"]
    await assert_silences(db, ["s-after", "s-meanwhile"])


async def assert_silences(db: Path, expected: list[str]) -> None:
    reopened = await SqliteStore.open(db)
    try:
        assert sorted(s.id for s in await reopened.silences()) == expected
        assert len(await reopened.load()) == 2
    finally:
        await reopened.aclose()


def test_a_reopen_that_fails_after_the_write_back_is_tried_again_at_the_next_call(
    db: Path,
) -> None:
    # The copy is back at its path, but opening it failed once (a disk I/O error): the
    # store must not go on with the connection the write-back closed, failing for ever.
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE note (text TEXT)")
    conn.execute("INSERT INTO note VALUES ('kept')")
    failures = [sqlite3.OperationalError("disk I/O error")]

    def reopen(path: Path) -> sqlite3.Connection:
        if failures:
            raise failures.pop()
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    kept = KeptFile(db, StateLock.acquire(db.parent), reopen)
    try:
        shutil.rmtree(db.parent)
        with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
            kept.check(conn)

        again = kept.check(conn)

        with closing(again):
            assert again.execute("SELECT text FROM note").fetchall() == [("kept",)]
    finally:
        kept.release()
