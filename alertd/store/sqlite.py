"""A `Store` in one SQLite file: the default, which survives restarts and loses no tick.

This module holds the connection, and every `sqlite3` error leaves it as `StoreError`.
One connection serves every call from a worker thread, and a lock keeps calls from
overlapping, so a transaction always runs alone on it. `sqlite_schema` holds the tables,
`sqlite_rows` how values become rows.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import structlog

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
from alertd.store.sqlite_file import RECOVER, KeptFile, refusal
from alertd.store.sqlite_schema import MIGRATIONS, migrate
from alertd.store.state_lock import StateLock

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# SQLite's names for a file that is not a database, or a damaged one.
DAMAGED = frozenset({"SQLITE_NOTADB", "SQLITE_CORRUPT"})

UPSERT_STATE = (
    f"INSERT OR REPLACE INTO alert_state ({rows.STATE_COLUMNS}, group_name, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TRANSITION = (
    f"INSERT INTO transitions ({rows.TRANSITION_COLUMNS}, group_name)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_EVALUATED = "INSERT OR REPLACE INTO rule_evals (rule, at) VALUES (?, ?)"
# A rule evaluated long ago whose alerts are all gone: nothing moves with it any more.
PRUNE_EVALUATED = (
    "DELETE FROM rule_evals WHERE at < ? AND rule NOT IN (SELECT rule FROM alert_state)"
)
UPSERT_POINT = f"INSERT OR REPLACE INTO points ({rows.POINT_COLUMNS}) VALUES (?, ?, ?, ?)"
# Keeps a series' newest N points: deletes those older than its N-th newest (none if fewer).
PRUNE_POINTS = (
    "DELETE FROM points WHERE fingerprint = ?1 AND at < (SELECT at FROM points"
    " WHERE fingerprint = ?1 ORDER BY at DESC LIMIT 1 OFFSET ?2)"
)
UPSERT_GROUP = (
    f"INSERT OR REPLACE INTO notify_groups ({rows.GROUP_COLUMNS}, updated_at) VALUES (?, ?, ?, ?)"
)
# An id already stored is left as it is: a redone step must not enqueue twice.
INSERT_ENTRY = (
    f"INSERT INTO outbox ({rows.ENTRY_COLUMNS}, enqueued_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
RECORD_OUTCOME = (
    "UPDATE outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,"
    " finished_at = ?, ref = ? WHERE id = ?"
)
# The head of each group's pending queue, if it has come due. The literal 'pending' lets
# SQLite use the partial index `outbox_due`, which already holds each group in order.
DUE = (
    f"SELECT {rows.ENTRY_COLUMNS} FROM (SELECT *, row_number() OVER ("
    "PARTITION BY group_key ORDER BY created_at, seq) AS place FROM outbox"
    " WHERE receiver = ? AND status = 'pending')"
    " WHERE place = 1 AND next_attempt_at <= ? ORDER BY created_at, seq LIMIT ?"
)
# A group's queue, and its newest other entry that may be what the receiver shows
# (`Queued.tells`). A notification whose JSON no longer reads counts as firing: its
# resolve then still goes.
FIRING = (
    "coalesce(CASE WHEN json_valid(notification) THEN"
    " json_extract(notification, '$.firing') END, 1)"
)
QUEUED_COLUMNS = f"id, {FIRING} AS firing, status, attempts"
TELLS = f"(status = 'delivered' OR (attempts > 0 AND status != 'failed' AND {FIRING}))"
GROUP_PENDING = (
    f"SELECT {QUEUED_COLUMNS}, created_at FROM outbox WHERE receiver = ? AND group_key = ?"
    " AND status = 'pending' ORDER BY created_at, seq"
)
GROUP_LAST_SEEN = (
    f"SELECT {QUEUED_COLUMNS} FROM outbox WHERE receiver = ? AND group_key = ? AND id != ?"
    f" AND {TELLS} ORDER BY created_at DESC, seq DESC LIMIT 1"
)
GROUP_NEWEST = (
    f"SELECT {QUEUED_COLUMNS}, created_at, seq FROM outbox WHERE receiver = ? AND group_key = ?"
    " ORDER BY created_at DESC, seq DESC LIMIT 1"
)
SUPERSEDE = "UPDATE outbox SET status = 'superseded', last_error = ?, finished_at = ? WHERE id = ?"
REVIVE = "UPDATE outbox SET status = 'pending', last_error = NULL, finished_at = NULL WHERE id = ?"
RECORD_ATTEMPTS = "UPDATE outbox SET attempts = ? WHERE id = ?"
SET_ASIDE = (
    "UPDATE outbox SET status = 'failed', last_error = ?, finished_at = ?"
    " WHERE id = ? AND status = 'pending'"
)
LAST_REF = (
    f"SELECT ref, {FIRING} FROM outbox WHERE receiver = ? AND group_key = ?"
    " AND status = 'delivered' AND ref IS NOT NULL ORDER BY created_at DESC, seq DESC LIMIT 1"
)
UPSERT_SILENCE = (
    f"INSERT OR REPLACE INTO silences ({rows.SILENCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
)
# Mirrors MemoryStore: a silence not yet started by ?1 starts there too, never ending first.
EXPIRE_SILENCE = (
    "UPDATE silences SET starts_at = min(starts_at, ?1), ends_at = ?1"
    " WHERE id = ?2 AND ends_at > ?1"
)

# Finished entries go, except each receiver's and group's newest delivered one with a ref
# (the message a later resolve updates), found as `LAST_REF` finds it, and the one
# `GROUP_LAST_SEEN` finds when that one is firing: without it the group's resolve would
# be superseded as having nothing to resolve.
PRUNE_OUTBOX = (
    "DELETE FROM outbox WHERE status != 'pending' AND finished_at < ?1"
    " AND seq NOT IN (SELECT seq FROM (SELECT seq, row_number() OVER ("
    "PARTITION BY receiver, group_key ORDER BY created_at DESC, seq DESC) AS place"
    " FROM outbox WHERE status = 'delivered' AND ref IS NOT NULL) WHERE place = 1)"
    f" AND seq NOT IN (SELECT seq FROM (SELECT seq, {QUEUED_COLUMNS}, row_number() OVER ("
    "PARTITION BY receiver, group_key ORDER BY created_at DESC, seq DESC) AS place"
    f" FROM outbox WHERE {TELLS}) WHERE place = 1 AND firing)"
)

log = structlog.get_logger(__name__)


class SqliteStore:
    """Alert state, transitions, series history and notification state in one SQLite file.

    The file is in WAL mode. Notification groups, the outbox and silences live beside the
    alert state, so one transaction can hold a tick and the notifications it caused.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        *,
        history_limit: int,
        state_lock: StateLock | None = None,
    ) -> None:
        self._path = path
        self._conn = conn
        self._history_limit = history_limit
        self._lock = anyio.Lock()
        # Only the store holding the directory's lock keeps the file at its path.
        self._kept = None if state_lock is None else KeptFile(path, state_lock, _reopen)

    @classmethod
    async def open(
        cls, path: Path, *, history_limit: int = 120, exclusive: bool = False
    ) -> SqliteStore:
        """Open (or create) the store at `path`, bringing its schema up to date.

        Raises `StoreError`, in one line naming `path` and what is wrong, when the file
        cannot be opened, is not a sound alertd database, is empty or missing beside a WAL
        that holds data, or was written by a newer schema than this code knows.

        With `exclusive` the store holds the lock of `path`'s directory until `aclose`, so
        a second exclusive open (a second daemon) raises `StoreInUseError` naming the
        holder's pid; others, such as `alertd silence`, share the file as SQLite allows.
        It also keeps its database at `path`: should the file or its directory be deleted
        or replaced while open, the next call writes the open database back to `path` and
        goes on there, so nothing written meanwhile is lost at the next start.
        """
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        try:
            conn, found, state_lock = await anyio.to_thread.run_sync(_open_file, path, exclusive)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the state store at {path}: {_reason(exc)}") from exc
        log.info(
            "store.opened", path=str(path), schema_version=len(MIGRATIONS), found_version=found
        )
        return cls(path, conn, history_limit=history_limit, state_lock=state_lock)

    def __repr__(self) -> str:
        return f"SqliteStore(path={str(self._path)!r}, history_limit={self._history_limit})"

    async def load(self) -> dict[str, AlertState]:
        return await self._run("load", _load)

    async def commit(self, commit: Commit) -> None:
        commit = normalized(commit)
        await self._run("commit", _write, commit, self._history_limit)
        log.debug(
            "store.committed",
            group=commit.group,
            states=len(commit.states),
            removed=len(commit.removed),
            transitions=len(commit.transitions),
            points=len(commit.points),
            groups=len(commit.groups),
            dropped_groups=len(commit.dropped_groups),
            outbox=len(commit.outbox),
        )

    async def history(self, fingerprint: str, limit: int = 120) -> list[SeriesPoint]:
        check_limit(limit)
        return await self._run("history", _history, fingerprint, limit)

    async def transitions(
        self, *, since: dt.datetime | None = None, limit: int = 1000
    ) -> list[Transition]:
        check_limit(limit)
        return await self._run("transitions", _transitions, since, limit)

    async def load_groups(self) -> dict[str, GroupState]:
        return await self._run("load_groups", _load_groups)

    async def due(self, receiver: str, now: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)
        args = (receiver, rows.time_text(now), limit)
        entries, unreadable = await self._run("due", _entries, DUE, args)
        if unreadable:
            await self._set_aside(unreadable, as_utc(now))
        return entries

    async def is_pending(self, entry_id: str) -> bool:
        return await self._run("is_pending", _is_pending, entry_id)

    async def record(self, entry: OutboxEntry) -> None:
        await self._run("record", _record, entry_in_utc(entry))

    async def outbox(
        self, *, status: Delivery | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        check_limit(limit)
        entries, unreadable = await self._run("outbox", _outbox, status, limit)
        self._log_unreadable("outbox.unreadable", unreadable)
        return entries

    async def _set_aside(self, unreadable: list[tuple[str, str]], now: dt.datetime) -> None:
        """Mark pending rows that no longer decode as failed, so the rest of their
        receiver's queue goes on; each is logged, with what is wrong with it."""
        changes = [(f"cannot be read: {r}", rows.time_text(now), i) for i, r in unreadable]
        try:
            await self._run("due", _set_aside, changes)
        except StoreError as exc:
            # Left pending, it is skipped again by the next read, and set aside then.
            self._log_unreadable("outbox.unreadable", unreadable, set_aside_failed=str(exc))
            return
        self._log_unreadable("outbox.unreadable_set_aside", unreadable)

    def _log_unreadable(self, event: str, unreadable: list[tuple[str, str]], **extra: str) -> None:
        for entry_id, reason in unreadable:
            log.error(event, path=str(self._path), notification=entry_id, error=reason, **extra)

    async def last_ref(self, receiver: str, group_key: str) -> str | None:
        return await self._run("last_ref", _last_ref, receiver, group_key)

    async def add_silence(self, silence: SilenceRecord) -> None:
        row = rows.encode_silence(silence_in_utc(silence))
        await self._run("add_silence", _execute, UPSERT_SILENCE, row)

    async def silences(self, *, active_at: dt.datetime | None = None) -> list[SilenceRecord]:
        at = None if active_at is None else rows.time_text(active_at)
        return await self._run("silences", _silences, at)

    async def expire_silence(self, silence_id: str, at: dt.datetime) -> bool:
        return await self._run("expire_silence", _expire_silence, silence_id, as_utc(at))

    async def prune(self, before: dt.datetime) -> Pruned:
        return await self._run("prune", _prune, as_utc(before))

    async def aclose(self) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self._conn.close)
            if self._kept is not None:
                self._kept.release()
                self._kept = None

    async def _run(self, what: str, call: Callable[..., T], *args: Any) -> T:
        """Run `call(connection, *args)` in a worker thread, alone on the connection."""
        # Not abandoned on cancellation: the thread finishes its transaction (or rollback)
        # before the lock is released to the next caller.
        async with self._lock:
            try:
                return await anyio.to_thread.run_sync(self._call, call, *args)
            # ValueError, TypeError, KeyError and AttributeError come from rows that no
            # longer decode.
            except (sqlite3.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise StoreError(
                    f"{what} failed on the state store at {self._path}: {exc}"
                ) from exc

    def _call(self, call: Callable[..., T], *args: Any) -> T:
        if self._kept is not None:
            self._conn = self._kept.check(self._conn)
        return call(self._conn, *args)


def _open_file(path: Path, exclusive: bool) -> tuple[sqlite3.Connection, int, StateLock | None]:
    """Check the files, take the directory's lock if `exclusive`, and open the database."""
    problem = refusal(path)
    if problem is not None:
        raise StoreError(f"cannot open the state store at {path}: {problem}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state_lock = StateLock.acquire(path.parent) if exclusive else None
    try:
        conn, found = _open(path)
    except BaseException:
        if state_lock is not None:
            state_lock.release()
        raise
    return conn, found, state_lock


def _reopen(path: Path) -> sqlite3.Connection:
    return _open(path)[0]


def _open(path: Path) -> tuple[sqlite3.Connection, int]:
    """Connect, switch to WAL, check and migrate; returns the connection and the version found."""
    # isolation_level=None: no implicit transactions, each one is begun and ended here.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode!r}, WAL could not be set")
        conn.execute("PRAGMA synchronous = NORMAL")
        # A truncated or overwritten file can open and fail only later, mid-run; this reads
        # every page now (about 0.1 s for a cached 100 MB file).
        problems = [" ".join(row[0].split()) for row in conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"it is damaged ({'; '.join(problems)}); {RECOVER}")
        found = _transaction(conn, migrate)
    except BaseException:
        conn.close()
        raise
    return conn, found


def _reason(exc: OSError | sqlite3.Error) -> str:
    """What is wrong, in one line, with what to do where the fix is the operator's."""
    if isinstance(exc, OSError):
        return f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
    # Errors raised here carry no SQLite name: their messages are already complete.
    if getattr(exc, "sqlite_errorname", None) in DAMAGED:
        return f"{exc}; {RECOVER}"
    return str(exc)


def _transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """Run `body` between BEGIN IMMEDIATE and COMMIT, rolling back on any error."""
    # IMMEDIATE takes the write lock up front, so a second process waits (busy_timeout)
    # at BEGIN instead of failing halfway through.
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _execute(conn: sqlite3.Connection, statement: str, args: rows.Row) -> None:
    # One statement is a transaction of its own: the connection is in autocommit mode.
    conn.execute(statement, args)


def _write(conn: sqlite3.Connection, commit: Commit, history_limit: int) -> None:
    def body(conn: sqlite3.Connection) -> None:
        at, group = rows.time_text(commit.at), commit.group
        written = rows.micros(commit.at)
        conn.executemany(
            UPSERT_STATE, [(*rows.encode_state(s), group, written) for s in commit.states]
        )
        conn.executemany(
            "DELETE FROM alert_state WHERE fingerprint = ?", [(f,) for f in commit.removed]
        )
        conn.executemany(UPSERT_EVALUATED, [(rule, written) for rule in commit.evaluated])
        conn.executemany(
            INSERT_TRANSITION, [(*rows.encode_transition(t), group) for t in commit.transitions]
        )
        conn.executemany(UPSERT_POINT, [rows.encode_point(p) for p in commit.points])
        series = sorted({p.fingerprint for p in commit.points})
        conn.executemany(PRUNE_POINTS, [(f, history_limit - 1) for f in series])
        conn.executemany(UPSERT_GROUP, [(*rows.encode_group(g), at) for g in commit.groups])
        conn.executemany(
            "DELETE FROM notify_groups WHERE key = ?", [(k,) for k in commit.dropped_groups]
        )
        for entry in commit.outbox:
            if conn.execute(INSERT_ENTRY, (*rows.encode_entry(entry), at)).rowcount:
                _supersede(conn, entry.notification.receiver, entry.notification.group_key)

    _transaction(conn, body)


def _supersede(conn: sqlite3.Connection, receiver: str, group_key: str) -> None:
    """Apply `supersede` to one receiver's group, inside the enqueueing transaction."""
    found = conn.execute(GROUP_PENDING, (receiver, group_key)).fetchall()
    if not found:
        return
    pending = [_queued(row) for row in found]
    seen = conn.execute(GROUP_LAST_SEEN, (receiver, group_key, pending[-1].id)).fetchone()
    at = found[-1][-1]
    changes = supersede(pending, None if seen is None else _queued(seen))
    conn.executemany(SUPERSEDE, [(reason, at, entry_id) for entry_id, reason in changes])


def _queued(row: rows.Row) -> Queued:
    entry_id, firing, status, attempts = row[:4]
    return Queued(entry_id, bool(firing), Delivery(status), attempts)


def _load(conn: sqlite3.Connection) -> dict[str, AlertState]:
    # One read transaction: the states and the evaluations they move with agree.
    conn.execute("BEGIN")
    try:
        found = conn.execute(f"SELECT {rows.STATE_COLUMNS} FROM alert_state").fetchall()
        evaluated = conn.execute("SELECT rule, at FROM rule_evals").fetchall()
    finally:
        conn.execute("COMMIT")
    return loaded(found, evaluated)


def loaded(found: list[rows.Row], evaluated: list[rows.Row]) -> dict[str, AlertState]:
    """The states in `found` rows, their times moved with their rules' evaluations."""
    at = {rule: rows.instant(micros) for rule, micros in evaluated}
    states = (rows.decode_state(row) for row in found)
    return {s.fingerprint: as_loaded(s, at.get(s.rule)) for s in states}


def _history(conn: sqlite3.Connection, fingerprint: str, limit: int) -> list[SeriesPoint]:
    found = conn.execute(
        f"SELECT {rows.POINT_COLUMNS} FROM (SELECT * FROM points WHERE fingerprint = ?"
        " ORDER BY at DESC LIMIT ?) ORDER BY at",
        (fingerprint, limit),
    )
    return [rows.decode_point(row) for row in found]


def _transitions(
    conn: sqlite3.Connection, since: dt.datetime | None, limit: int
) -> list[Transition]:
    where, args = ("", ()) if since is None else ("WHERE at >= ?", (rows.time_text(since),))
    columns = rows.TRANSITION_COLUMNS
    found = conn.execute(
        f"SELECT {columns} FROM (SELECT {columns}, id FROM transitions"
        f" {where} ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id",
        (*args, limit),
    )
    return [rows.decode_transition(row) for row in found]


def _load_groups(conn: sqlite3.Connection) -> dict[str, GroupState]:
    found = conn.execute("SELECT state FROM notify_groups")
    groups = (rows.decode_group(state) for (state,) in found)
    return {group.key: group for group in groups}


def _entries(
    conn: sqlite3.Connection, query: str, args: rows.Row
) -> tuple[list[OutboxEntry], list[tuple[str, str]]]:
    """The entries `query` finds, decoded one by one, and the ids of the rows that did
    not decode, each with why: one damaged row must not hide the others."""
    entries: list[OutboxEntry] = []
    unreadable: list[tuple[str, str]] = []
    for row in conn.execute(query, args):
        try:
            entries.append(rows.decode_entry(row))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            unreadable.append((str(row[0]), f"{type(exc).__name__}: {exc}"))
    return entries, unreadable


def _set_aside(conn: sqlite3.Connection, changes: list[rows.Row]) -> None:
    _transaction(conn, lambda conn: conn.executemany(SET_ASIDE, changes))


def _outbox(
    conn: sqlite3.Connection, status: Delivery | None, limit: int
) -> tuple[list[OutboxEntry], list[tuple[str, str]]]:
    where, args = ("", ()) if status is None else ("WHERE status = ?", (status.value,))
    query = (
        f"SELECT {rows.ENTRY_COLUMNS} FROM (SELECT * FROM outbox {where}"
        " ORDER BY created_at DESC, seq DESC LIMIT ?) ORDER BY created_at, seq"
    )
    return _entries(conn, query, (*args, limit))


def _is_pending(conn: sqlite3.Connection, entry_id: str) -> bool:
    found = conn.execute("SELECT status FROM outbox WHERE id = ?", (entry_id,)).fetchone()
    return found is not None and found[0] == Delivery.PENDING.value


def _record(conn: sqlite3.Connection, entry: OutboxEntry) -> None:
    def body(conn: sqlite3.Connection) -> None:
        found = conn.execute(
            "SELECT status, receiver, group_key FROM outbox WHERE id = ?", (entry.id,)
        ).fetchone()
        if found is None:
            raise StoreError(f"no outbox entry has the id {entry.id!r}")
        was_superseded = found[0] == Delivery.SUPERSEDED.value
        if was_superseded and entry.status is Delivery.PENDING:
            conn.execute(RECORD_ATTEMPTS, (entry.attempts, entry.id))
        else:
            conn.execute(RECORD_OUTCOME, (*rows.encode_outcome(entry), entry.id))
        if was_superseded:
            newest = conn.execute(GROUP_NEWEST, (found[1], found[2])).fetchone()
            if revived(entry, _queued(newest), newer=newest[0] != entry.id):
                conn.execute(REVIVE, (newest[0],))

    _transaction(conn, body)


def _last_ref(conn: sqlite3.Connection, receiver: str, group_key: str) -> str | None:
    found = conn.execute(LAST_REF, (receiver, group_key)).fetchone()
    return None if found is None or not found[1] else str(found[0])


def _silences(conn: sqlite3.Connection, active_at: str | None) -> list[SilenceRecord]:
    where, args = (
        ("", ()) if active_at is None else ("WHERE starts_at <= ?1 AND ends_at > ?1", (active_at,))
    )
    found = conn.execute(
        f"SELECT {rows.SILENCE_COLUMNS} FROM silences {where} ORDER BY starts_at, id", args
    )
    return [rows.decode_silence(row) for row in found]


def _expire_silence(conn: sqlite3.Connection, silence_id: str, at: dt.datetime) -> bool:
    def body(conn: sqlite3.Connection) -> bool:
        conn.execute(EXPIRE_SILENCE, (rows.time_text(at), silence_id))
        known = conn.execute("SELECT 1 FROM silences WHERE id = ?", (silence_id,)).fetchone()
        return known is not None

    return _transaction(conn, body)


def _prune(conn: sqlite3.Connection, at: dt.datetime) -> Pruned:
    before = rows.time_text(at)

    def body(conn: sqlite3.Connection) -> Pruned:
        pruned = Pruned(
            transitions=conn.execute("DELETE FROM transitions WHERE at < ?", (before,)).rowcount,
            points=conn.execute("DELETE FROM points WHERE at < ?", (rows.micros(at),)).rowcount,
            outbox=conn.execute(PRUNE_OUTBOX, (before,)).rowcount,
            silences=conn.execute("DELETE FROM silences WHERE ends_at < ?", (before,)).rowcount,
        )
        conn.execute(PRUNE_EVALUATED, (rows.micros(at),))
        return pruned

    return _transaction(conn, body)
