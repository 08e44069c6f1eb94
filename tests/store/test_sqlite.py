"""What only the SQLite store promises: the file outlives the process, and stays sound."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from alertd.errors import StoreError
from alertd.model import AlertState, Change, SeriesPoint, Severity, Status, Transition
from alertd.store.base import Commit
from alertd.store.sqlite import MIGRATIONS, SqliteStore
from tests.contract.store.builders import group_state
from tests.store.old_files import write_old_file

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2025, 3, 1, 12, 0, 0, 654321, tzinfo=dt.UTC)
LABELS = (("table", "users"),)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


FIRING = AlertState(
    fingerprint="f1",
    rule="SlowQueryP95",
    labels=LABELS,
    status=Status.FIRING,
    severity=Severity.CRITICAL,
    active_since=at(0),
    firing_since=at(60),
    last_breach=at(120.000001),
    last_seen=at(120.000001),
    last_eval=at(120.000001),
    value=230.25,
    samples=40,
    evidence="p95(duration) 230 ms > 200 ms: 12 of 40 sampled rows above 200 ms, 95 % confident",
)
PENDING = AlertState(
    fingerprint="f2",
    rule="ErrorRate",
    labels=(("endpoint", "/api/pitches"),),
    status=Status.PENDING,
    severity=Severity.WARNING,
    active_since=at(90.000007),
    last_breach=at(120.000001),
    last_seen=at(120.000001),
    last_eval=at(120.000001),
    value=0.06,
    samples=500,
)


def transition(when: dt.datetime, reason: str) -> Transition:
    return Transition(
        at=when,
        fingerprint="f1",
        rule="SlowQueryP95",
        labels=LABELS,
        change=Change.FIRING,
        previous=Status.PENDING,
        status=Status.FIRING,
        severity=Severity.CRITICAL,
        previous_severity=None,
        value=230.25,
        reason=reason,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "alertd.db"


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(db)
    yield opened
    await opened.aclose()


@contextmanager
def raw(db: Path) -> Iterator[sqlite3.Connection]:
    """A second, plain connection to the file, as an operator's sqlite3 shell would be."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        yield conn


async def test_open_creates_missing_parent_directories(store: SqliteStore, db: Path) -> None:
    with raw(db) as conn:
        assert conn.execute("SELECT count(*) FROM alert_state").fetchone() == (0,)


async def test_the_database_is_in_wal_mode(store: SqliteStore, db: Path) -> None:
    with raw(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_open_logs_the_path_and_schema_version(db: Path) -> None:
    with capture_logs() as logs:
        opened = await SqliteStore.open(db)
    await opened.aclose()

    [event] = [e for e in logs if e["event"] == "store.opened"]
    assert event["path"] == str(db)
    assert event["schema_version"] == len(MIGRATIONS)


async def test_schema_version_is_recorded_and_reopening_migrates_nothing(db: Path) -> None:
    first = await SqliteStore.open(db)
    await first.commit(Commit(at=T0, group="database", states=(FIRING,)))
    await first.aclose()
    with raw(db) as conn:
        schema_before = conn.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall()

    with capture_logs() as logs:
        second = await SqliteStore.open(db)
    try:
        assert await second.load() == {"f1": FIRING}
    finally:
        await second.aclose()

    with raw(db) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        schema_after = conn.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert schema_after == schema_before
    assert [e["found_version"] for e in logs if e["event"] == "store.opened"] == [len(MIGRATIONS)]


async def test_a_database_from_a_newer_schema_is_refused(db: Path) -> None:
    await (await SqliteStore.open(db)).aclose()
    with raw(db) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))

    with pytest.raises(StoreError, match="newer") as caught:
        await SqliteStore.open(db)
    assert str(db) in str(caught.value)


@pytest.fixture
def garbage(db: Path) -> Path:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an SQLite database, only some text\n" * 100)
    return db


@pytest.fixture
def directory(db: Path) -> Path:
    db.mkdir(parents=True)
    return db


async def test_a_corrupt_file_gives_a_store_error_naming_the_path(garbage: Path) -> None:
    with pytest.raises(StoreError) as caught:
        await SqliteStore.open(garbage)
    assert str(garbage) in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


async def test_a_directory_in_place_of_the_file_gives_a_store_error(directory: Path) -> None:
    with pytest.raises(StoreError) as caught:
        await SqliteStore.open(directory)
    assert str(directory) in str(caught.value)


async def test_a_failure_midway_rolls_the_whole_commit_back(db: Path, store: SqliteStore) -> None:
    await store.commit(Commit(at=T0, group="database", states=(FIRING,)))
    # A real failure inside the transaction, after the states and removals were written.
    with raw(db) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON transitions"
            " BEGIN SELECT RAISE(ABORT, 'disk said no'); END"
        )

    with pytest.raises(StoreError, match="disk said no"):
        await store.commit(
            Commit(
                at=at(30),
                group="database",
                states=(PENDING,),
                removed=("f1",),
                transitions=(transition(at(30), "would be lost"),),
                points=(SeriesPoint("f2", at(30), 0.06, 500),),
            )
        )

    assert await store.load() == {"f1": FIRING}
    assert await store.history("f2") == []
    with raw(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    await store.commit(Commit(at=at(60), group="database", states=(PENDING,)))
    assert await store.load() == {"f1": FIRING, "f2": PENDING}


async def test_a_closed_store_raises_store_error(store: SqliteStore) -> None:
    await store.aclose()

    with pytest.raises(StoreError, match="closed"):
        await store.load()
    await store.aclose()


async def test_a_row_that_no_longer_decodes_gives_a_store_error(
    db: Path, store: SqliteStore
) -> None:
    await store.commit(Commit(at=T0, group="database", states=(FIRING,)))
    with raw(db) as conn:
        conn.execute("UPDATE alert_state SET status = 'exploded'")

    with pytest.raises(StoreError, match="exploded"):
        await store.load()


async def test_a_group_whose_json_has_the_wrong_shape_gives_a_store_error(
    db: Path, store: SqliteStore
) -> None:
    # What the daemon reads at start: a store error is refused in one line, a traceback not.
    await store.commit(Commit(at=T0, group="notify", groups=(group_state(),)))
    with raw(db) as conn:
        conn.execute(
            "UPDATE notify_groups SET state ="
            " json_set(state, '$.notified[0].annotations', json_array('summary'))"
        )

    with pytest.raises(StoreError, match="load_groups failed"):
        await store.load_groups()


async def test_a_file_from_before_evidence_opens_with_its_alerts_and_no_evidence(
    db: Path,
) -> None:
    db.parent.mkdir(parents=True)
    with raw(db) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        for version, steps in enumerate(MIGRATIONS[:3], start=1):
            for statement in steps:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute(
            "INSERT INTO alert_state (fingerprint, rule, labels, status, samples, group_name,"
            " updated_at) VALUES ('f1', 'SlowQueryP95', '[]', 'inactive', 0, 'db', 'x')"
        )

    opened = await SqliteStore.open(db)
    try:
        [state] = (await opened.load()).values()
        await opened.commit(Commit(at=T0, group="database", states=(FIRING,)))
        assert (await opened.load())["f1"] == FIRING
    finally:
        await opened.aclose()

    assert state.evidence is None
    assert state.rule == "SlowQueryP95"


async def test_a_file_from_before_integer_times_opens_with_every_time_to_the_microsecond(
    db: Path,
) -> None:
    last_century = dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    old = dataclasses.replace(FIRING, firing_since=last_century)
    points = [SeriesPoint("f1", at(0.000001), 1.5, 7), SeriesPoint("f1", at(30), None, 0)]
    write_old_file(db, 4, [old, PENDING], points)

    opened = await SqliteStore.open(db)
    try:
        assert await opened.load() == {"f1": old, "f2": PENDING}
        assert await opened.history("f1") == points
        with raw(db) as conn:
            kinds = conn.execute(
                "SELECT DISTINCT typeof(last_eval), typeof(updated_at) FROM alert_state"
            ).fetchall()
            assert kinds == [("integer", "integer")]
            assert conn.execute("SELECT DISTINCT typeof(at) FROM points").fetchall() == [
                ("integer",)
            ]
        # The converted file takes the next tick as a new one would.
        await opened.commit(Commit(at=at(150), group="database", evaluated=("SlowQueryP95",)))
        assert (await opened.load())["f1"].last_eval == at(150)
    finally:
        await opened.aclose()
