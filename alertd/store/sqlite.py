"""A `Store` in one SQLite file: the default, which survives restarts and loses no tick.

This is the only module that knows `sqlite3`; its errors leave here as `StoreError`. One
connection serves every call from a worker thread, and a lock keeps calls from overlapping,
so a transaction always runs alone on it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import structlog

from alertd.errors import StoreError
from alertd.model import AlertState, Change, Labels, SeriesPoint, Severity, Status, Transition
from alertd.store.base import Commit, as_utc, check_limit, normalized

T = TypeVar("T")
Row = tuple[Any, ...]

BUSY_TIMEOUT_MS = 5000

# Each step moves the schema up one version, inside the transaction that records it. Steps
# are only ever appended: an opened file runs the ones past its recorded version.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE alert_state (
            fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, labels TEXT NOT NULL,
            status TEXT NOT NULL, severity TEXT, active_since TEXT, firing_since TEXT,
            last_breach TEXT, last_seen TEXT, last_eval TEXT, value REAL,
            samples INTEGER NOT NULL, group_name TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        """CREATE TABLE transitions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, fingerprint TEXT NOT NULL,
            rule TEXT NOT NULL, labels TEXT NOT NULL, change TEXT NOT NULL,
            previous TEXT NOT NULL, status TEXT NOT NULL, severity TEXT,
            previous_severity TEXT, value REAL, threshold TEXT, reason TEXT NOT NULL,
            group_name TEXT NOT NULL)""",
        "CREATE INDEX transitions_by_time ON transitions (at, id)",
        """CREATE TABLE points (
            fingerprint TEXT NOT NULL, at TEXT NOT NULL, value REAL, samples INTEGER NOT NULL,
            PRIMARY KEY (fingerprint, at)) WITHOUT ROWID""",
    ),
)

STATE_COLUMNS = (
    "fingerprint, rule, labels, status, severity, active_since, firing_since, last_breach,"
    " last_seen, last_eval, value, samples"
)
TRANSITION_COLUMNS = (
    "at, fingerprint, rule, labels, change, previous, status, severity, previous_severity,"
    " value, threshold, reason"
)
UPSERT_STATE = (
    f"INSERT OR REPLACE INTO alert_state ({STATE_COLUMNS}, group_name, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TRANSITION = (
    f"INSERT INTO transitions ({TRANSITION_COLUMNS}, group_name)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_POINT = "INSERT OR REPLACE INTO points (fingerprint, at, value, samples) VALUES (?, ?, ?, ?)"
# Keeps a series' newest N points: deletes those older than its N-th newest (none if fewer).
PRUNE_POINTS = (
    "DELETE FROM points WHERE fingerprint = ?1 AND at < (SELECT at FROM points"
    " WHERE fingerprint = ?1 ORDER BY at DESC LIMIT 1 OFFSET ?2)"
)

log = structlog.get_logger(__name__)


class SqliteStore:
    """Alert state, transitions and series history in one SQLite file, in WAL mode."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, history_limit: int) -> None:
        self._path = path
        self._conn = conn
        self._history_limit = history_limit
        self._lock = anyio.Lock()

    @classmethod
    async def open(cls, path: Path, *, history_limit: int = 120) -> SqliteStore:
        """Open (or create) the store at `path`, bringing its schema up to date.

        Raises `StoreError` naming `path` when the file cannot be opened, is not a
        database, or was written by a newer schema than this code knows.
        """
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        try:
            conn, found = await anyio.to_thread.run_sync(_open, path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the state store at {path}: {exc}") from exc
        log.info(
            "store.opened", path=str(path), schema_version=len(MIGRATIONS), found_version=found
        )
        return cls(path, conn, history_limit=history_limit)

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
        )

    async def history(self, fingerprint: str, limit: int = 120) -> list[SeriesPoint]:
        check_limit(limit)
        return await self._run("history", _history, fingerprint, limit)

    async def transitions(
        self, *, since: dt.datetime | None = None, limit: int = 1000
    ) -> list[Transition]:
        check_limit(limit)
        return await self._run("transitions", _transitions, since, limit)

    async def aclose(self) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self._conn.close)

    async def _run(self, what: str, call: Callable[..., T], *args: Any) -> T:
        """Run `call(connection, *args)` in a worker thread, alone on the connection."""
        # Not abandoned on cancellation: the thread finishes its transaction (or rollback)
        # before the lock is released to the next caller.
        async with self._lock:
            try:
                return await anyio.to_thread.run_sync(call, self._conn, *args)
            # ValueError and TypeError come from rows that no longer decode.
            except (sqlite3.Error, ValueError, TypeError) as exc:
                raise StoreError(
                    f"{what} failed on the state store at {self._path}: {exc}"
                ) from exc


def _open(path: Path) -> tuple[sqlite3.Connection, int]:
    """Connect, switch to WAL and migrate; returns the connection and the version found."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions, each one is begun and ended here.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode!r}, WAL could not be set")
        conn.execute("PRAGMA synchronous = NORMAL")
        found = _transaction(conn, _migrate)
    except BaseException:
        conn.close()
        raise
    return conn, found


def _migrate(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
    found: int = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    if found > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"schema version {found} is newer than this alertd knows ({len(MIGRATIONS)})"
        )
    for version, steps in enumerate(MIGRATIONS[found:], start=found + 1):
        for statement in steps:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return found


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


def _write(conn: sqlite3.Connection, commit: Commit, history_limit: int) -> None:
    def body(conn: sqlite3.Connection) -> None:
        at, group = _text(commit.at), commit.group
        conn.executemany(UPSERT_STATE, [(*_state_row(s), group, at) for s in commit.states])
        conn.executemany(
            "DELETE FROM alert_state WHERE fingerprint = ?", [(f,) for f in commit.removed]
        )
        conn.executemany(
            INSERT_TRANSITION, [(*_transition_row(t), group) for t in commit.transitions]
        )
        conn.executemany(UPSERT_POINT, [_point_row(p) for p in commit.points])
        series = sorted({p.fingerprint for p in commit.points})
        conn.executemany(PRUNE_POINTS, [(f, history_limit - 1) for f in series])

    _transaction(conn, body)


def _load(conn: sqlite3.Connection) -> dict[str, AlertState]:
    rows = conn.execute(f"SELECT {STATE_COLUMNS} FROM alert_state")
    states = (_state(row) for row in rows)
    return {state.fingerprint: state for state in states}


def _history(conn: sqlite3.Connection, fingerprint: str, limit: int) -> list[SeriesPoint]:
    rows = conn.execute(
        "SELECT * FROM (SELECT at, value, samples FROM points WHERE fingerprint = ?"
        " ORDER BY at DESC LIMIT ?) ORDER BY at",
        (fingerprint, limit),
    )
    return [SeriesPoint(fingerprint, _time(at), _number(v), n) for at, v, n in rows]


def _transitions(
    conn: sqlite3.Connection, since: dt.datetime | None, limit: int
) -> list[Transition]:
    where, args = ("", ()) if since is None else ("WHERE at >= ?", (_text(since),))
    rows = conn.execute(
        f"SELECT {TRANSITION_COLUMNS} FROM (SELECT {TRANSITION_COLUMNS}, id FROM transitions"
        f" {where} ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id",
        (*args, limit),
    )
    return [_transition(row) for row in rows]


def _state_row(s: AlertState) -> Row:
    times = (s.active_since, s.firing_since, s.last_breach, s.last_seen, s.last_eval)
    return (
        s.fingerprint,
        s.rule,
        _labels_text(s.labels),
        s.status.value,
        _enum_text(s.severity),
        *(_optional_text(t) for t in times),
        _number_cell(s.value),
        s.samples,
    )


def _state(row: Row) -> AlertState:
    fp, rule, labels, status, severity, *times, value, samples = row
    active_since, firing_since, last_breach, last_seen, last_eval = map(_optional_time, times)
    return AlertState(
        fingerprint=fp,
        rule=rule,
        labels=_labels(labels),
        status=Status(status),
        severity=_severity(severity),
        active_since=active_since,
        firing_since=firing_since,
        last_breach=last_breach,
        last_seen=last_seen,
        last_eval=last_eval,
        value=_number(value),
        samples=samples,
    )


def _transition_row(t: Transition) -> Row:
    return (
        _text(t.at),
        t.fingerprint,
        t.rule,
        _labels_text(t.labels),
        t.change.value,
        t.previous.value,
        t.status.value,
        _enum_text(t.severity),
        _enum_text(t.previous_severity),
        _number_cell(t.value),
        t.threshold,
        t.reason,
    )


def _transition(row: Row) -> Transition:
    at, fp, rule, labels, change, previous, status, severity, previous_severity, *rest = row
    value, threshold, reason = rest
    return Transition(
        at=_time(at),
        fingerprint=fp,
        rule=rule,
        labels=_labels(labels),
        change=Change(change),
        previous=Status(previous),
        status=Status(status),
        severity=_severity(severity),
        previous_severity=_severity(previous_severity),
        value=_number(value),
        threshold=threshold,
        reason=reason,
    )


def _point_row(p: SeriesPoint) -> Row:
    return (p.fingerprint, _text(p.at), _number_cell(p.value), p.samples)


def _text(at: dt.datetime) -> str:
    # Fixed width with microseconds and a +00:00 offset, so text order is time order.
    return as_utc(at).isoformat(timespec="microseconds")


def _optional_text(at: dt.datetime | None) -> str | None:
    return None if at is None else _text(at)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _optional_time(text: str | None) -> dt.datetime | None:
    return None if text is None else _time(text)


def _labels_text(labels: Labels) -> str:
    # Pairs keep their order, so labels read back equal to what was written.
    return json.dumps([list(pair) for pair in labels], separators=(",", ":"), ensure_ascii=False)


def _labels(text: str) -> Labels:
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def _enum_text(member: Severity | None) -> str | None:
    return None if member is None else member.value


def _severity(text: str | None) -> Severity | None:
    return None if text is None else Severity(text)


def _number_cell(value: float | None) -> float | str | None:
    # SQLite stores a bound NaN as NULL, which would read back as "no value"; NaN travels
    # as the text 'nan' instead (±inf are REALs SQLite keeps).
    if value is not None and math.isnan(value):
        return "nan"
    return value


def _number(cell: float | str | None) -> float | None:
    return None if cell is None else float(cell)
