"""What only the SQLite store adds to the notification role: a failure while enqueueing
rolls the tick back, and a file from before the outbox is migrated."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from alertd.errors import StoreError
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
    transition,
)
from tests.store.old_files import write_old_file

pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "alertd.db"


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
    # The file as the first schema wrote it.
    write_old_file(db, 1, [firing()])

    second = await SqliteStore.open(db)
    try:
        # The first schema kept no evidence.
        assert await second.load() == {FP: replace(firing(), evidence=None)}
        await second.commit(enqueue(entry("n1")))
        assert ids(await second.outbox()) == ["n1"]
    finally:
        await second.aclose()
