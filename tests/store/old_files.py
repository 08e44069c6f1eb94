"""SQLite state files as earlier schema versions wrote them, built from their own steps,
with alert states and series points in the ISO time texts those versions kept."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from alertd.model import AlertState, SeriesPoint
from alertd.store import sqlite_rows as rows
from alertd.store.sqlite_schema import MIGRATIONS

# The schema version from which alert states and points hold integer times.
INTEGER_TIMES = 5


def write_old_file(
    db: Path,
    version: int,
    states: Sequence[AlertState] = (),
    points: Sequence[SeriesPoint] = (),
    *,
    group: str = "database",
    updated_at: str = "2026-11-28T00:00:00.000000+00:00",
) -> None:
    """Write `db` as schema `version` (before integer times) left it, holding `states`
    (without evidence before version 4) and `points`."""
    assert version < INTEGER_TIMES
    db.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        for number, steps in enumerate(MIGRATIONS[:version], start=1):
            for statement in steps:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        columns = rows.STATE_COLUMNS if version >= 4 else rows.STATE_COLUMNS[: -len(", evidence")]
        for state in states:
            row = list(rows.encode_state(state))
            row[5:10] = [_text(t) for t in _times(state)]
            if version < 4:
                row.pop()
            conn.execute(
                f"INSERT INTO alert_state ({columns}, group_name, updated_at)"
                f" VALUES ({', '.join('?' * (len(row) + 2))})",
                (*row, group, updated_at),
            )
        for p in points:
            conn.execute(
                f"INSERT INTO points ({rows.POINT_COLUMNS}) VALUES (?, ?, ?, ?)",
                (p.fingerprint, rows.time_text(p.at), p.value, p.samples),
            )


def _times(state: AlertState) -> tuple[dt.datetime | None, ...]:
    return (
        state.active_since,
        state.firing_since,
        state.last_breach,
        state.last_seen,
        state.last_eval,
    )


def _text(at: dt.datetime | None) -> str | None:
    return None if at is None else rows.time_text(at)
