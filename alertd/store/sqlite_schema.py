"""The SQLite store's schema, as the steps that build it, and the migration that runs them."""

from __future__ import annotations

import sqlite3


def _micros(column: str) -> str:
    """SQL for an ISO time text as `sqlite_rows.time_text` wrote it (fixed width, UTC,
    microseconds) in whole microseconds since the epoch; NULL stays NULL."""
    return (
        f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER)"
    )


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
    (
        """CREATE TABLE notify_groups (
            key TEXT PRIMARY KEY, receiver TEXT NOT NULL, state TEXT NOT NULL,
            updated_at TEXT NOT NULL) WITHOUT ROWID""",
        # `seq` orders entries enqueued with the same created_at; AUTOINCREMENT never
        # reuses one, so that order holds for the file's whole life.
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            receiver TEXT NOT NULL, group_key TEXT NOT NULL, created_at TEXT NOT NULL,
            notification TEXT NOT NULL, expires_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
            last_error TEXT, finished_at TEXT, ref TEXT, enqueued_at TEXT NOT NULL)""",
        # Partial, so `due` reads only what is pending, already in each group's order.
        """CREATE INDEX outbox_due ON outbox (receiver, group_key, created_at, seq)
            WHERE status = 'pending'""",
        """CREATE INDEX outbox_refs ON outbox (receiver, group_key, created_at, seq)
            WHERE status = 'delivered' AND ref IS NOT NULL""",
        "CREATE INDEX outbox_by_status ON outbox (status, created_at, seq)",
        "CREATE INDEX outbox_by_time ON outbox (created_at, seq)",
        """CREATE TABLE silences (
            id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL)
            WITHOUT ROWID""",
    ),
    (
        # Every entry of one receiver's group, whatever its status: enqueueing reads a
        # group's queue and its newest delivered entry to supersede what went stale.
        "CREATE INDEX outbox_by_group ON outbox (receiver, group_key, created_at, seq)",
    ),
    (
        # What the sampled rows said at the alert's last notified change (`confidence`).
        "ALTER TABLE alert_state ADD COLUMN evidence TEXT",
    ),
    (
        # The rows a tick may write hold times as integer microseconds since the epoch
        # (`sqlite_rows.micros`); a column's type cannot change in SQLite, so each table
        # is built again, its ISO texts converted. Nothing reads `updated_at`: one that
        # does not read as a time becomes 0 rather than stop the file from opening.
        """CREATE TABLE alert_state_v5 (
            fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, labels TEXT NOT NULL,
            status TEXT NOT NULL, severity TEXT, active_since INTEGER, firing_since INTEGER,
            last_breach INTEGER, last_seen INTEGER, last_eval INTEGER, value REAL,
            samples INTEGER NOT NULL, group_name TEXT NOT NULL, updated_at INTEGER NOT NULL,
            evidence TEXT)""",
        f"""INSERT INTO alert_state_v5 SELECT fingerprint, rule, labels, status, severity,
            {_micros("active_since")}, {_micros("firing_since")}, {_micros("last_breach")},
            {_micros("last_seen")}, {_micros("last_eval")}, value, samples, group_name,
            coalesce({_micros("updated_at")}, 0), evidence FROM alert_state""",
        "DROP TABLE alert_state",
        "ALTER TABLE alert_state_v5 RENAME TO alert_state",
        """CREATE TABLE points_v5 (
            fingerprint TEXT NOT NULL, at INTEGER NOT NULL, value REAL,
            samples INTEGER NOT NULL, PRIMARY KEY (fingerprint, at)) WITHOUT ROWID""",
        f"""INSERT INTO points_v5 SELECT fingerprint, {_micros("at")}, value, samples
            FROM points""",
        "DROP TABLE points",
        "ALTER TABLE points_v5 RENAME TO points",
        # Each rule's last evaluation: a tick writes only the states that changed, and
        # the others' times move with it when read (`base.as_loaded`).
        """CREATE TABLE rule_evals (rule TEXT PRIMARY KEY, at INTEGER NOT NULL)
            WITHOUT ROWID""",
    ),
)


def migrate(conn: sqlite3.Connection) -> int:
    """Run the steps past the file's recorded version; returns the version found.

    Call it inside a transaction. Raises `sqlite3.DatabaseError` when the file was written
    by a newer schema than `MIGRATIONS` knows, or holds another program's tables.
    """
    tables = sorted(
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        if not name.startswith("sqlite_")
    )
    # Another program's database: adding alertd's tables to it would mix the two.
    if tables and "schema_version" not in tables:
        listed = ", ".join(tables)
        raise sqlite3.DatabaseError(
            f"it is an SQLite database but not an alertd state file (its tables: {listed});"
            " give alertd another state directory"
        )
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
    found: int = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    if found > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"it was written by a newer alertd (schema version {found}; this alertd knows"
            f" {len(MIGRATIONS)}): run the alertd that wrote it, or a later one"
        )
    for version, steps in enumerate(MIGRATIONS[found:], start=found + 1):
        for statement in steps:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return found
