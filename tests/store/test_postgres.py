"""What only the PostgreSQL store promises: versioned migrations that replicas may run at
once, a connection pool that outlives dropped connections, leases that outlive them too."""

from __future__ import annotations

import dataclasses

import anyio
import psycopg
import pytest

from alertd.clock import FakeClock
from alertd.errors import StoreError
from alertd.model import AlertState, Status
from alertd.store import postgres_schema
from alertd.store import sqlite_rows as rows
from alertd.store.base import Commit
from alertd.store.postgres import PostgresStore, describe
from alertd.store.postgres_schema import MIGRATIONS
from tests import pg
from tests.contract.store.builders import T0, at, firing

pytestmark = pytest.mark.anyio


def versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [int(str(v)) for (v,) in conn.execute("SELECT version FROM schema_version")]


async def test_a_new_database_gets_every_migration_once_even_when_replicas_start_together(
    pg_url: str,
) -> None:
    opened: list[PostgresStore] = []

    async def start() -> None:
        opened.append(await PostgresStore.open(pg_url))

    async with anyio.create_task_group() as replicas:
        for _ in range(4):
            replicas.start_soon(start)
    for store in opened:
        await store.aclose()

    assert len(opened) == 4
    assert versions(pg_url) == list(range(1, len(MIGRATIONS) + 1))


async def test_a_reopened_database_keeps_its_state_and_runs_nothing_again(pg_url: str) -> None:
    store = await PostgresStore.open(pg_url)
    await store.commit(Commit(at=T0, group="database", states=(firing(),)))
    await store.aclose()

    store = await PostgresStore.open(pg_url)
    try:
        assert await store.load() == {firing().fingerprint: firing()}
    finally:
        await store.aclose()
    assert versions(pg_url) == list(range(1, len(MIGRATIONS) + 1))


async def test_a_database_from_a_newer_alertd_is_refused_naming_both_versions(
    pg_url: str, pg_database: str
) -> None:
    await (await PostgresStore.open(pg_url)).aclose()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s)", (len(MIGRATIONS) + 1,))

    with pytest.raises(StoreError) as refused:
        await PostgresStore.open(pg_url)

    assert str(refused.value) == (
        f"cannot open the state store at {describe(pg_url)}:"
        f" it was written by a newer alertd (schema version {len(MIGRATIONS) + 1}; this alertd"
        f" knows {len(MIGRATIONS)}): run the alertd that wrote it, or a later one"
    )


async def test_a_database_holding_another_programs_tables_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")

    with pytest.raises(StoreError, match=r"tables that are not alertd's \(invoices\)"):
        await PostgresStore.open(pg_url)


async def test_an_unreachable_server_is_refused_naming_it_without_the_password() -> None:
    url = "postgresql://alertd:s3cret@127.0.0.1:1/alertd?connect_timeout=1"

    with pytest.raises(StoreError) as refused:
        await PostgresStore.open(url)

    assert str(refused.value).startswith(
        "cannot open the state store at postgresql://alertd@127.0.0.1:1/alertd:"
    )
    assert "Connection refused" in str(refused.value)
    assert "s3cret" not in str(refused.value)
    assert describe(url) == "postgresql://alertd@127.0.0.1:1/alertd"


async def test_a_database_that_does_not_exist_is_refused_saying_so(pg_url: str) -> None:
    url = pg_url.split("?")[0] + "_missing"

    with pytest.raises(StoreError, match=r'database "alertd_test_\w+_missing" does not exist'):
        await PostgresStore.open(url)


async def test_dropped_connections_are_replaced_and_nothing_committed_is_lost(
    pg_url: str, pg_database: str
) -> None:
    store = await PostgresStore.open(pg_url)
    try:
        await store.commit(Commit(at=T0, group="database", states=(firing(),)))
        assert pg.terminate_backends(pg_database) >= 1

        resolved = dataclasses.replace(firing(), status=Status.INACTIVE)
        await store.commit(Commit(at=at(60), group="database", states=(resolved,)))

        assert await store.load() == {resolved.fingerprint: resolved}
    finally:
        await store.aclose()


async def test_while_the_database_refuses_connections_calls_fail_and_write_nothing(
    pg_url: str, pg_database: str
) -> None:
    store = await PostgresStore.open(pg_url)
    try:
        pg.allow_connections(pg_database, False)
        try:
            pg.terminate_backends(pg_database)
            lost = AlertState(fingerprint="lost", rule="R", labels=(), status=Status.FIRING)
            with pytest.raises(
                StoreError, match=f"commit failed on the state store at .*{pg_database}"
            ):
                await store.commit(Commit(at=T0, group="database", states=(lost,)))
        finally:
            pg.allow_connections(pg_database, True)

        assert await store.load() == {}
    finally:
        await store.aclose()


async def test_leases_are_kept_through_a_dropped_connection(pg_url: str, pg_database: str) -> None:
    store = await PostgresStore.open(pg_url)
    try:
        keeper = store.lease_keeper(FakeClock(T0), seconds=30, replica="a")
        keeper.want(["database"])
        await keeper.beat()
        tokens = {name: keeper.token(name) for name in keeper.held()}
        pg.terminate_backends(pg_database)
        # The pool replaces the dropped connection; the same leases are renewed.
        await keeper.beat()
        assert {name: keeper.token(name) for name in keeper.held()} == tokens
        await store.commit(Commit(at=T0, group="database", states=(firing(),)))
    finally:
        await store.aclose()


async def test_a_row_that_no_longer_reads_fails_the_read_naming_the_database(
    pg_url: str, pg_database: str
) -> None:
    store = await PostgresStore.open(pg_url)
    try:
        await store.commit(Commit(at=T0, group="database", states=(firing(),)))
        with psycopg.connect(pg_url) as conn:
            conn.execute("UPDATE alert_state SET status = 'sideways'")

        with pytest.raises(StoreError, match=f"load failed on the state store at .*{pg_database}"):
            await store.load()
    finally:
        await store.aclose()


async def test_a_later_migration_runs_once_on_a_database_at_an_earlier_version(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await PostgresStore.open(pg_url)).aclose()
    added = ("ALTER TABLE alert_state ADD COLUMN note TEXT",)
    monkeypatch.setattr(postgres_schema, "MIGRATIONS", (*MIGRATIONS, added))

    for _ in range(2):
        await (await PostgresStore.open(pg_url)).aclose()

    assert versions(pg_url) == list(range(1, len(MIGRATIONS) + 2))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT note FROM alert_state").fetchall() == []


async def test_a_migration_that_fails_leaves_the_database_as_it_was(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await PostgresStore.open(pg_url)).aclose()
    broken = ("ALTER TABLE alert_state ADD COLUMN note TEXT", "SELECT no_such_function()")
    monkeypatch.setattr(postgres_schema, "MIGRATIONS", (*MIGRATIONS, broken))

    with pytest.raises(StoreError, match="no_such_function"):
        await PostgresStore.open(pg_url)

    assert versions(pg_url) == list(range(1, len(MIGRATIONS) + 1))
    with psycopg.connect(pg_url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'alert_state'"
        ).fetchall()
    assert ("note",) not in columns


async def test_a_database_from_before_integer_times_keeps_every_time_to_the_microsecond(
    pg_url: str,
) -> None:
    state = dataclasses.replace(firing(), last_seen=None)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        # PostgreSQL's schemas number one fewer than SQLite's: times became integers in 4.
        for version, steps in enumerate(MIGRATIONS[:3], start=1):
            for statement in steps:
                conn.execute(statement.encode())
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        times = (state.active_since, state.firing_since, state.last_breach, None, state.last_eval)
        row = list(rows.encode_state(state))
        row[5:10] = [None if t is None else rows.time_text(t) for t in times]
        conn.execute(
            f"INSERT INTO alert_state ({rows.STATE_COLUMNS}, group_name, updated_at)"
            f" VALUES ({', '.join(['%s'] * (len(row) + 2))})",
            (*row, "database", rows.time_text(T0)),
        )
        conn.execute(
            f"INSERT INTO points ({rows.POINT_COLUMNS}) VALUES (%s, %s, %s, %s)",
            (state.fingerprint, rows.time_text(at(0.000001)), 1.5, 7),
        )

    store = await PostgresStore.open(pg_url)
    try:
        assert await store.load() == {state.fingerprint: state}
        [point] = await store.history(state.fingerprint)
        assert point.at == at(0.000001)
    finally:
        await store.aclose()
    assert versions(pg_url) == list(range(1, len(MIGRATIONS) + 1))
