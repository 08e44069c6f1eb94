"""A `Store` in a PostgreSQL database, chosen with `ALERTD_STATE_URL=postgresql://...`.

Calls borrow a connection from a pool (psycopg 3, async) and every `psycopg` error leaves
this module as `StoreError`. A connection the server dropped (a restart, an operator's
`pg_terminate_backend`) is found dead when it is borrowed and replaced; while the server
is away every call fails at once with `StoreError`, as a full disk fails the SQLite store,
and the pool reconnects with backoff. Rows are encoded as the SQLite store's
(`sqlite_rows`), and the statements are the same ones in PostgreSQL's dialect.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from alertd.clock import Clock
from alertd.errors import StoreError
from alertd.model import (
    AlertState,
    Delivery,
    GroupState,
    OutboxEntry,
    SeriesPoint,
    SilenceRecord,
    Transition,
)
from alertd.store import sqlite_rows as rows
from alertd.store.base import (
    Commit,
    Pruned,
    Queued,
    as_loaded,
    as_utc,
    check_limit,
    entry_in_utc,
    normalized,
    revived,
    silence_in_utc,
    supersede,
)
from alertd.store.leases import LeaseKeeper
from alertd.store.ownership import NOTIFY_LEASE, lease_of_commit
from alertd.store.postgres_schema import MIGRATIONS, migrate

T = TypeVar("T")
Conn = AsyncConnection[tuple[Any, ...]]

# How long a call waits for a connection before it fails: a tick must not hang on a
# server that is away, it fails and the next one tries again.
CONNECT_TIMEOUT_SECONDS = 5.0
# How long the pool keeps retrying one connection, with growing pauses, before it gives
# that one up (the next call starts another).
RECONNECT_TIMEOUT_SECONDS = 60.0
# What each connection is opened with: its name in pg_stat_activity (which process, so an
# operator can tell replicas apart), and how long to wait for the server to answer.
CONNECTION: dict[str, Any] = {"application_name": f"alertd pid {os.getpid()}", "connect_timeout": 5}


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _upsert(table: str, columns: str, key: str, extra: tuple[str, ...] = ()) -> str:
    names = [c.strip() for c in columns.split(",")] + list(extra)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c not in key.split(", "))
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({_placeholders(len(names))})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def _count(columns: str) -> int:
    return len(columns.split(","))


UPSERT_STATE = _upsert(
    "alert_state", rows.STATE_COLUMNS, "fingerprint", ("group_name", "updated_at")
)
INSERT_TRANSITION = (
    f"INSERT INTO transitions ({rows.TRANSITION_COLUMNS}, group_name)"
    f" VALUES ({_placeholders(_count(rows.TRANSITION_COLUMNS) + 1)})"
)
UPSERT_EVALUATED = _upsert("rule_evals", "rule, at", "rule")
# A rule evaluated long ago whose alerts are all gone: nothing moves with it any more.
PRUNE_EVALUATED = (
    "DELETE FROM rule_evals WHERE at < %(before)s AND rule NOT IN (SELECT rule FROM alert_state)"
)
UPSERT_POINT = _upsert("points", rows.POINT_COLUMNS, "fingerprint, at")
# Keeps a series' newest N points: deletes those older than its N-th newest (none if fewer).
PRUNE_POINTS = (
    "DELETE FROM points WHERE fingerprint = %(fp)s AND at < (SELECT at FROM points"
    " WHERE fingerprint = %(fp)s ORDER BY at DESC LIMIT 1 OFFSET %(keep)s)"
)
UPSERT_GROUP = _upsert("notify_groups", rows.GROUP_COLUMNS, "key", ("updated_at",))
# An id already stored is left as it is: a redone step must not enqueue twice.
INSERT_ENTRY = (
    f"INSERT INTO outbox ({rows.ENTRY_COLUMNS}, enqueued_at)"
    f" VALUES ({_placeholders(_count(rows.ENTRY_COLUMNS) + 1)}) ON CONFLICT (id) DO NOTHING"
)
RECORD_OUTCOME = (
    "UPDATE outbox SET status = %s, attempts = %s, last_error = %s, next_attempt_at = %s,"
    " finished_at = %s, ref = %s WHERE id = %s"
)
DUE = (
    f"SELECT {rows.ENTRY_COLUMNS} FROM (SELECT *, row_number() OVER ("
    "PARTITION BY group_key ORDER BY created_at, seq) AS place FROM outbox"
    " WHERE receiver = %s AND status = 'pending') AS queue"
    " WHERE place = 1 AND next_attempt_at <= %s ORDER BY created_at, seq LIMIT %s"
)
FIRING = "alertd_firing(notification)"
QUEUED_COLUMNS = f"id, {FIRING} AS firing, status, attempts"
TELLS = f"(status = 'delivered' OR (attempts > 0 AND status != 'failed' AND {FIRING}))"
GROUP_PENDING = (
    f"SELECT {QUEUED_COLUMNS}, created_at FROM outbox WHERE receiver = %s AND group_key = %s"
    " AND status = 'pending' ORDER BY created_at, seq"
)
GROUP_LAST_SEEN = (
    f"SELECT {QUEUED_COLUMNS} FROM outbox WHERE receiver = %s AND group_key = %s AND id != %s"
    f" AND {TELLS} ORDER BY created_at DESC, seq DESC LIMIT 1"
)
GROUP_NEWEST = (
    f"SELECT {QUEUED_COLUMNS}, created_at, seq FROM outbox WHERE receiver = %s"
    " AND group_key = %s ORDER BY created_at DESC, seq DESC LIMIT 1"
)
SUPERSEDE = (
    "UPDATE outbox SET status = 'superseded', last_error = %s, finished_at = %s WHERE id = %s"
)
REVIVE = "UPDATE outbox SET status = 'pending', last_error = NULL, finished_at = NULL WHERE id = %s"
RECORD_ATTEMPTS = "UPDATE outbox SET attempts = %s WHERE id = %s"
SET_ASIDE = (
    "UPDATE outbox SET status = 'failed', last_error = %s, finished_at = %s"
    " WHERE id = %s AND status = 'pending'"
)
LAST_REF = (
    f"SELECT ref, {FIRING} FROM outbox WHERE receiver = %s AND group_key = %s"
    " AND status = 'delivered' AND ref IS NOT NULL ORDER BY created_at DESC, seq DESC LIMIT 1"
)
UPSERT_SILENCE = _upsert("silences", rows.SILENCE_COLUMNS, "id")
EXPIRE_SILENCE = (
    "UPDATE silences SET starts_at = least(starts_at, %(at)s), ends_at = %(at)s"
    " WHERE id = %(id)s AND ends_at > %(at)s"
)
# As in the SQLite store: finished entries go, except each group's newest delivered one
# with a ref, and its newest one that may be what the receiver shows when that one fires.
PRUNE_OUTBOX = (
    "DELETE FROM outbox WHERE status != 'pending' AND finished_at < %(before)s"
    " AND seq NOT IN (SELECT seq FROM (SELECT seq, row_number() OVER ("
    "PARTITION BY receiver, group_key ORDER BY created_at DESC, seq DESC) AS place"
    " FROM outbox WHERE status = 'delivered' AND ref IS NOT NULL) AS refs WHERE place = 1)"
    f" AND seq NOT IN (SELECT seq FROM (SELECT seq, {QUEUED_COLUMNS}, row_number() OVER ("
    "PARTITION BY receiver, group_key ORDER BY created_at DESC, seq DESC) AS place"
    f" FROM outbox WHERE {TELLS}) AS seen WHERE place = 1 AND firing)"
)

# Held by every commit and every recorded outcome: "alertd-w" in ASCII, as a bigint.
WRITE_LOCK = 0x616C657274642D77

log = structlog.get_logger(__name__)


def describe(url: str) -> str:
    """`url` without its password, for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "a PostgreSQL database (its URL does not parse)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


class PostgresStore:
    """Alert state, history, notification groups, the outbox and silences in PostgreSQL.

    The tables are the SQLite store's; one transaction holds a tick and the notifications
    it caused, as there.
    """

    def __init__(self, url: str, pool: AsyncConnectionPool[Conn], *, history_limit: int) -> None:
        self._where = describe(url)
        self._pool = pool
        self._history_limit = history_limit
        # Set by `lease_keeper`: then every commit and recorded outcome is fenced.
        self._leases: LeaseKeeper | None = None

    @classmethod
    async def open(cls, url: str, *, history_limit: int = 120) -> PostgresStore:
        """Connect to the database at `url`, bringing its schema up to date.

        Raises `StoreError` naming the database (never its password) when it cannot be
        reached, holds another program's tables or a newer alertd's schema. Several
        daemons may share one database: `lease_keeper` shares the work between them.
        """
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        where = describe(url)
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=4,
            open=False,
            timeout=CONNECT_TIMEOUT_SECONDS,
            reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
            check=AsyncConnectionPool.check_connection,
            kwargs=CONNECTION,
            name="alertd-state",
        )
        try:
            # One connection of its own first: a server that is away, a database that does
            # not exist or a refused password fails here, at once, saying so.
            async with await AsyncConnection.connect(url, **CONNECTION) as conn:
                found = await migrate(conn, where)
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, psycopg.Error):
                raise StoreError(f"cannot open the state store at {where}: {_reason(exc)}") from exc
            raise
        log.info(
            "store.opened", database=where, schema_version=len(MIGRATIONS), found_version=found
        )
        return cls(url, pool, history_limit=history_limit)

    def __repr__(self) -> str:
        return f"PostgresStore(database={self._where!r}, history_limit={self._history_limit})"

    async def load(self) -> dict[str, AlertState]:
        async def body(conn: Conn) -> dict[str, AlertState]:
            # One transaction, repeatable read: states and the evaluations they move with
            # are from the same commit.
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            found = await _rows(conn, f"SELECT {rows.STATE_COLUMNS} FROM alert_state")
            evaluated = await _rows(conn, "SELECT rule, at FROM rule_evals")
            at = {rule: rows.instant(micros) for rule, micros in evaluated}
            states = (rows.decode_state(row) for row in found)
            return {s.fingerprint: as_loaded(s, at.get(s.rule)) for s in states}

        return await self._in_transaction("load", body)

    async def commit(self, commit: Commit) -> None:
        commit = normalized(commit)
        lease = lease_of_commit(commit.group)

        async def body(conn: Conn) -> None:
            await _one_writer(conn)
            if self._leases is not None:
                await self._leases.fence(conn, lease)
            await _write(conn, commit, self._history_limit)

        await self._in_transaction("commit", body)

    async def history(self, fingerprint: str, limit: int = 120) -> list[SeriesPoint]:
        check_limit(limit)
        return await self._read(
            "history",
            rows.decode_point,
            f"SELECT {rows.POINT_COLUMNS} FROM (SELECT * FROM points WHERE fingerprint = %s"
            " ORDER BY at DESC LIMIT %s) AS newest ORDER BY at",
            (fingerprint, limit),
        )

    async def transitions(
        self, *, since: dt.datetime | None = None, limit: int = 1000
    ) -> list[Transition]:
        check_limit(limit)
        where, args = ("", ()) if since is None else ("WHERE at >= %s", (rows.time_text(since),))
        columns = rows.TRANSITION_COLUMNS
        return await self._read(
            "transitions",
            rows.decode_transition,
            f"SELECT {columns} FROM (SELECT {columns}, id FROM transitions"
            f" {where} ORDER BY at DESC, id DESC LIMIT %s) AS newest ORDER BY at, id",
            (*args, limit),
        )

    async def load_groups(self) -> dict[str, GroupState]:
        query = "SELECT state FROM notify_groups"
        groups = await self._read("load_groups", lambda row: rows.decode_group(row[0]), query)
        return {group.key: group for group in groups}

    async def due(self, receiver: str, now: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)
        found = await self._fetch("due", DUE, (receiver, rows.time_text(now), limit))
        entries, unreadable = _decoded(found)
        if unreadable:
            await self._set_aside(unreadable, as_utc(now))
        return entries

    async def is_pending(self, entry_id: str) -> bool:
        found = await self._fetch(
            "is_pending", "SELECT status FROM outbox WHERE id = %s", (entry_id,)
        )
        return bool(found) and found[0][0] == Delivery.PENDING.value

    async def record(self, entry: OutboxEntry) -> None:
        entry = entry_in_utc(entry)

        async def body(conn: Conn) -> None:
            await _one_writer(conn)
            if self._leases is not None:
                await self._leases.fence(conn, NOTIFY_LEASE)
            await _record(conn, entry)

        await self._in_transaction("record", body)

    async def outbox(
        self, *, status: Delivery | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        check_limit(limit)
        where, args = ("", ()) if status is None else ("WHERE status = %s", (status.value,))
        found = await self._fetch(
            "outbox",
            f"SELECT {rows.ENTRY_COLUMNS} FROM (SELECT * FROM outbox {where}"
            " ORDER BY created_at DESC, seq DESC LIMIT %s) AS newest ORDER BY created_at, seq",
            (*args, limit),
        )
        entries, unreadable = _decoded(found)
        self._log_unreadable("outbox.unreadable", unreadable)
        return entries

    async def last_ref(self, receiver: str, group_key: str) -> str | None:
        found = await self._fetch("last_ref", LAST_REF, (receiver, group_key))
        return None if not found or not found[0][1] else str(found[0][0])

    async def add_silence(self, silence: SilenceRecord) -> None:
        row = rows.encode_silence(silence_in_utc(silence))
        await self._in_transaction("add_silence", lambda conn: _execute(conn, UPSERT_SILENCE, row))

    async def silences(self, *, active_at: dt.datetime | None = None) -> list[SilenceRecord]:
        if active_at is None:
            where, args = "", {}
        else:
            where, args = (
                "WHERE starts_at <= %(at)s AND ends_at > %(at)s",
                {"at": rows.time_text(active_at)},
            )
        query = f"SELECT {rows.SILENCE_COLUMNS} FROM silences {where} ORDER BY starts_at, id"
        return await self._read("silences", rows.decode_silence, query, args)

    async def expire_silence(self, silence_id: str, at: dt.datetime) -> bool:
        args = {"at": rows.time_text(as_utc(at)), "id": silence_id}

        async def body(conn: Conn) -> bool:
            await _exec(conn, EXPIRE_SILENCE, args)
            return bool(await _rows(conn, "SELECT 1 FROM silences WHERE id = %s", (silence_id,)))

        return await self._in_transaction("expire_silence", body)

    async def prune(self, before: dt.datetime) -> Pruned:
        text = rows.time_text(as_utc(before))
        micros = rows.micros(before)

        async def body(conn: Conn) -> Pruned:
            async def deleted(statement: str) -> int:
                return (await _exec(conn, statement, {"before": text})).rowcount

            pruned = Pruned(
                transitions=await deleted("DELETE FROM transitions WHERE at < %(before)s"),
                points=(await _exec(conn, "DELETE FROM points WHERE at < %s", (micros,))).rowcount,
                outbox=await deleted(PRUNE_OUTBOX),
                silences=await deleted("DELETE FROM silences WHERE ends_at < %(before)s"),
            )
            await _exec(conn, PRUNE_EVALUATED, {"before": micros})
            return pruned

        return await self._in_transaction("prune", body)

    def lease_keeper(
        self, clock: Clock, *, seconds: float, replica: str | None = None
    ) -> LeaseKeeper:
        """Share the work with other replicas on this database through leases: from now
        on every commit and recorded outcome is refused (`LeaseLostError`) unless the
        returned keeper holds the lease it falls under."""
        self._leases = LeaseKeeper(
            self._pool, clock, seconds=seconds, replica=replica, where=self._where
        )
        return self._leases

    async def aclose(self) -> None:
        if self._leases is not None:
            await self._leases.release_all()
        await self._pool.close()

    async def _set_aside(self, unreadable: list[tuple[str, str]], now: dt.datetime) -> None:
        """Mark pending rows that no longer decode as failed, so the rest of their
        receiver's queue goes on; each is logged, with what is wrong with it."""
        changes = [(f"cannot be read: {r}", rows.time_text(now), i) for i, r in unreadable]

        async def body(conn: Conn) -> None:
            await _many(conn, SET_ASIDE, changes)

        try:
            await self._in_transaction("due", body)
        except StoreError as exc:
            self._log_unreadable("outbox.unreadable", unreadable, set_aside_failed=str(exc))
            return
        self._log_unreadable("outbox.unreadable_set_aside", unreadable)

    def _log_unreadable(self, event: str, unreadable: list[tuple[str, str]], **extra: str) -> None:
        for entry_id, reason in unreadable:
            log.error(event, database=self._where, notification=entry_id, error=reason, **extra)

    async def _fetch(self, what: str, query: str, args: Any = None) -> list[tuple[Any, ...]]:
        async with self._connection(what) as conn:
            return await _rows(conn, query, args)

    async def _read(
        self, what: str, decode: Callable[[tuple[Any, ...]], T], query: str, args: Any = None
    ) -> list[T]:
        """The rows `query` finds, each decoded; a row that does not decode fails the call
        with `StoreError`, as a database error does."""
        async with self._connection(what) as conn:
            return [decode(row) for row in await _rows(conn, query, args)]

    async def _in_transaction(self, what: str, body: Callable[[Conn], Awaitable[T]]) -> T:
        async with self._connection(what) as conn, conn.transaction():
            return await body(conn)

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Conn]:
        """A pooled connection; every error of the database or of decoding its rows
        leaves as `StoreError` naming the call and the database."""
        try:
            async with self._pool.connection() as conn:
                yield conn
        except StoreError:
            raise
        # ValueError, TypeError, KeyError and AttributeError come from rows that no
        # longer decode.
        except (psycopg.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
            message = _reason(exc) if isinstance(exc, psycopg.Error) else str(exc)
            raise StoreError(
                f"{what} failed on the state store at {self._where}: {message}"
            ) from exc


def _reason(exc: psycopg.Error) -> str:
    """The error in one line (psycopg's messages may span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _decoded(found: list[tuple[Any, ...]]) -> tuple[list[OutboxEntry], list[tuple[str, str]]]:
    """The entries decoded one by one, and the ids of the rows that did not decode, each
    with why: one damaged row must not hide the others."""
    entries: list[OutboxEntry] = []
    unreadable: list[tuple[str, str]] = []
    for row in found:
        try:
            entries.append(rows.decode_entry(row))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            unreadable.append((str(row[0]), f"{type(exc).__name__}: {exc}"))
    return entries, unreadable


async def _execute(conn: Conn, statement: str, args: rows.Row) -> None:
    await _exec(conn, statement, args)


async def _one_writer(conn: Conn) -> None:
    """Wait until no other transaction of any store on this database writes, until this
    one ends. Ids and `seq` then follow commit order (which orders transitions and entries
    at the same time), and superseding sees every entry of its group."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))


async def _write(conn: Conn, commit: Commit, history_limit: int) -> None:
    at, group = rows.time_text(commit.at), commit.group
    written = rows.micros(commit.at)
    await _many(
        conn, UPSERT_STATE, [(*rows.encode_state(s), group, written) for s in commit.states]
    )
    if commit.removed:
        await _exec(
            conn, "DELETE FROM alert_state WHERE fingerprint = ANY(%s)", (list(commit.removed),)
        )
    await _many(conn, UPSERT_EVALUATED, [(rule, written) for rule in commit.evaluated])
    await _many(
        conn, INSERT_TRANSITION, [(*rows.encode_transition(t), group) for t in commit.transitions]
    )
    await _many(conn, UPSERT_POINT, [rows.encode_point(p) for p in commit.points])
    series = sorted({p.fingerprint for p in commit.points})
    await _many(conn, PRUNE_POINTS, [{"fp": f, "keep": history_limit - 1} for f in series])
    await _many(conn, UPSERT_GROUP, [(*rows.encode_group(g), at) for g in commit.groups])
    if commit.dropped_groups:
        await _exec(
            conn, "DELETE FROM notify_groups WHERE key = ANY(%s)", (list(commit.dropped_groups),)
        )
    for entry in commit.outbox:
        inserted = await _exec(conn, INSERT_ENTRY, (*rows.encode_entry(entry), at))
        if inserted.rowcount:
            await _supersede(conn, entry.notification.receiver, entry.notification.group_key)


async def _supersede(conn: Conn, receiver: str, group_key: str) -> None:
    """Apply `supersede` to one receiver's group, inside the enqueueing transaction."""
    found = await _rows(conn, GROUP_PENDING, (receiver, group_key))
    if not found:
        return
    pending = [_queued(row) for row in found]
    seen = next(
        iter(await _rows(conn, GROUP_LAST_SEEN, (receiver, group_key, pending[-1].id))), None
    )
    at = found[-1][-1]
    changes = supersede(pending, None if seen is None else _queued(seen))
    if changes:
        await _many(conn, SUPERSEDE, [(reason, at, entry_id) for entry_id, reason in changes])


def _queued(row: tuple[Any, ...]) -> Queued:
    entry_id, firing, status, attempts = row[:4]
    return Queued(entry_id, bool(firing), Delivery(status), attempts)


async def _record(conn: Conn, entry: OutboxEntry) -> None:
    query = "SELECT status, receiver, group_key FROM outbox WHERE id = %s FOR UPDATE"
    found = next(iter(await _rows(conn, query, (entry.id,))), None)
    if found is None:
        raise StoreError(f"no outbox entry has the id {entry.id!r}")
    was_superseded = found[0] == Delivery.SUPERSEDED.value
    if was_superseded and entry.status is Delivery.PENDING:
        await _exec(conn, RECORD_ATTEMPTS, (entry.attempts, entry.id))
    else:
        await _exec(conn, RECORD_OUTCOME, (*rows.encode_outcome(entry), entry.id))
    if was_superseded:
        newest = next(iter(await _rows(conn, GROUP_NEWEST, (found[1], found[2]))), None)
        if newest is not None and revived(entry, _queued(newest), newer=newest[0] != entry.id):
            await _exec(conn, REVIVE, (newest[0],))


# PostgreSQL text cannot hold NUL, which SQLite and memory keep. A text holding one (or
# starting with the marker) is stored as the marker, then itself with backslash and NUL
# escaped; every other text, the JSON ones included, is stored as it is.
NUL_MARKER = "\x01alertd-escaped:"
ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _stored_text(text: str) -> str:
    if "\x00" not in text and not text.startswith(NUL_MARKER):
        return text
    return NUL_MARKER + text.replace("\\", "\\\\").replace("\x00", "\\0")


def _read_text(text: str) -> str:
    if not text.startswith(NUL_MARKER):
        return text
    return ESCAPE.sub(
        lambda found: "\x00" if found[1] == "0" else found[1], text[len(NUL_MARKER) :]
    )


def _stored(value: Any) -> Any:
    if isinstance(value, str):
        return _stored_text(value)
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def _params(args: Any) -> Any:
    if args is None:
        return None
    if isinstance(args, dict):
        return {key: _stored(value) for key, value in args.items()}
    return tuple(_stored(value) for value in args)


async def _exec(conn: Conn, query: str, args: Any = None) -> psycopg.AsyncCursor[tuple[Any, ...]]:
    return await conn.execute(query, _params(args))


async def _many(conn: Conn, query: str, args: list[Any]) -> None:
    if args:
        async with conn.cursor() as cursor:
            await cursor.executemany(query, [_params(a) for a in args])


async def _rows(conn: Conn, query: str, args: Any = None) -> list[tuple[Any, ...]]:
    found = await (await _exec(conn, query, args)).fetchall()
    return [tuple(_read_text(v) if isinstance(v, str) else v for v in row) for row in found]
