"""One daemon per state directory: the second exclusive open is refused, naming the first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alertd.errors import StoreInUseError
from alertd.store.sqlite import SqliteStore
from alertd.store.state_lock import LOCK_NAME, StateLock
from tests.contract.store.builders import silence

pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "alertd.db"


async def test_a_second_exclusive_open_is_refused_in_one_line_naming_the_holder(
    db: Path,
) -> None:
    first = await SqliteStore.open(db, exclusive=True)
    try:
        assert (db.parent / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(StoreInUseError) as caught:
            await SqliteStore.open(db, exclusive=True)
    finally:
        await first.aclose()

    assert caught.value.holder == os.getpid()
    assert str(caught.value) == (
        f"another alertd (pid {os.getpid()}) is running on the state directory {db.parent}"
        f" (it holds {db.parent / LOCK_NAME}): only one daemon may use a state directory"
    )


async def test_silences_are_written_beside_the_daemon_that_holds_the_lock(db: Path) -> None:
    daemon = await SqliteStore.open(db, exclusive=True)
    try:
        beside = await SqliteStore.open(db)
        await beside.add_silence(silence("s1", 0, 60))
        await beside.aclose()

        assert [s.id for s in await daemon.silences()] == ["s1"]
    finally:
        await daemon.aclose()


async def test_closing_the_store_releases_the_lock(db: Path) -> None:
    await (await SqliteStore.open(db, exclusive=True)).aclose()

    again = await SqliteStore.open(db, exclusive=True)
    await again.aclose()


def test_a_lock_file_left_behind_does_not_lock(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("999999999\n")  # a daemon that died

    lock = StateLock.acquire(tmp_path)
    try:
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    finally:
        lock.release()


def test_a_holder_that_has_not_written_its_pid_yet_is_named_as_unknown(tmp_path: Path) -> None:
    lock = StateLock.acquire(tmp_path)
    try:
        (tmp_path / LOCK_NAME).write_text("")
        with pytest.raises(StoreInUseError, match=r"another alertd \(pid unknown\)"):
            StateLock.acquire(tmp_path)
    finally:
        lock.release()


def test_release_twice_is_harmless_and_the_lock_is_no_longer_current(tmp_path: Path) -> None:
    lock = StateLock.acquire(tmp_path)
    assert lock.is_current()
    lock.release()
    lock.release()
    assert not lock.is_current()
