"""The PostgreSQL store's schema, as numbered migrations, and the migration that runs them.

The tables mirror the SQLite store's (`sqlite_schema`) column for column, with the same
text encoding (`sqlite_rows`), so a column added there is added here the same way. Text
columns compare byte by byte (`COLLATE "C"`), as SQLite's do, whatever the database's
locale: times are ISO text, and ids break ties in order. The times of alert states and
series points are integer microseconds since the epoch, as there (since version 4 here,
5 there).
"""

from __future__ import annotations

from psycopg import AsyncConnection

from alertd.errors import StoreError

# Any constant both the daemon and its replicas agree on; "alertd" in ASCII, as a bigint.
MIGRATION_LOCK = 0x616C65727464

T = 'TEXT COLLATE "C"'


def _micros(column: str) -> str:
    """SQL for an ISO time text in whole microseconds since the epoch; NULL stays NULL."""
    return f"(extract(epoch FROM {column}::timestamptz) * 1000000)::bigint"


# Each step moves the schema up one version, inside the transaction that records it.
# Steps are only ever appended: a database runs the ones past its recorded version.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE alert_state (
            fingerprint {T} PRIMARY KEY, rule {T} NOT NULL, labels {T} NOT NULL,
            status {T} NOT NULL, severity {T}, active_since {T}, firing_since {T},
            last_breach {T}, last_seen {T}, last_eval {T}, value DOUBLE PRECISION,
            samples BIGINT NOT NULL, group_name {T} NOT NULL, updated_at {T} NOT NULL)""",
        f"""CREATE TABLE transitions (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at {T} NOT NULL,
            fingerprint {T} NOT NULL, rule {T} NOT NULL, labels {T} NOT NULL,
            change {T} NOT NULL, previous {T} NOT NULL, status {T} NOT NULL, severity {T},
            previous_severity {T}, value DOUBLE PRECISION, threshold {T}, reason {T} NOT NULL,
            group_name {T} NOT NULL)""",
        "CREATE INDEX transitions_by_time ON transitions (at, id)",
        f"""CREATE TABLE points (
            fingerprint {T} NOT NULL, at {T} NOT NULL, value DOUBLE PRECISION,
            samples BIGINT NOT NULL, PRIMARY KEY (fingerprint, at))""",
        "CREATE INDEX points_by_time ON points (at)",
        f"""CREATE TABLE notify_groups (
            key {T} PRIMARY KEY, receiver {T} NOT NULL, state {T} NOT NULL,
            updated_at {T} NOT NULL)""",
        # `seq` orders entries enqueued with the same created_at, for the table's whole life.
        f"""CREATE TABLE outbox (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id {T} NOT NULL UNIQUE,
            receiver {T} NOT NULL, group_key {T} NOT NULL, created_at {T} NOT NULL,
            notification {T} NOT NULL, expires_at {T} NOT NULL,
            next_attempt_at {T} NOT NULL, status {T} NOT NULL, attempts BIGINT NOT NULL,
            last_error {T}, finished_at {T}, ref {T}, enqueued_at {T} NOT NULL)""",
        """CREATE INDEX outbox_due ON outbox (receiver, group_key, created_at, seq)
            WHERE status = 'pending'""",
        "CREATE INDEX outbox_by_group ON outbox (receiver, group_key, created_at, seq)",
        "CREATE INDEX outbox_by_status ON outbox (status, created_at, seq)",
        "CREATE INDEX outbox_by_time ON outbox (created_at, seq)",
        f"""CREATE TABLE silences (
            id {T} PRIMARY KEY, matchers {T} NOT NULL, starts_at {T} NOT NULL,
            ends_at {T} NOT NULL, created_by {T} NOT NULL, comment {T} NOT NULL)""",
        # Whether a stored notification is a trigger; one whose JSON no longer reads counts
        # as firing, so its resolve still goes (as in the SQLite store).
        """CREATE FUNCTION alertd_firing(notification text) RETURNS boolean
            LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN
                RETURN coalesce((notification::jsonb ->> 'firing')::boolean, true);
            EXCEPTION WHEN others THEN
                RETURN true;
            END $$""",
    ),
    # Leases (`leases`): each rule group, and the notification pipeline, is worked by the
    # replica holding its row until `expires_at` (the server's clock, so replicas' clocks
    # need not agree). Every take draws a new token from one sequence, so a later holder
    # always has a greater token, and a write fenced with an old one finds no row.
    (
        f"""CREATE TABLE replicas (
            id {T} PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL)""",
        f"""CREATE TABLE leases (
            name {T} PRIMARY KEY, holder {T} NOT NULL, token BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL)""",
        "CREATE SEQUENCE lease_tokens",
    ),
    (
        # What the sampled rows said at the alert's last notified change (`confidence`).
        f"ALTER TABLE alert_state ADD COLUMN evidence {T}",
    ),
    (
        # The rows a tick may write hold times as integer microseconds since the epoch
        # (`sqlite_rows.micros`), converted from the ISO texts they held.
        "ALTER TABLE alert_state "
        + ", ".join(
            f"ALTER COLUMN {c} TYPE BIGINT USING {_micros(c)}"
            for c in (
                "active_since",
                "firing_since",
                "last_breach",
                "last_seen",
                "last_eval",
                "updated_at",
            )
        ),
        f"ALTER TABLE points ALTER COLUMN at TYPE BIGINT USING {_micros('at')}",
        # Each rule's last evaluation: a tick writes only the states that changed, and
        # the others' times move with it when read (`base.as_loaded`).
        f"CREATE TABLE rule_evals (rule {T} PRIMARY KEY, at BIGINT NOT NULL)",
    ),
)


async def migrate(conn: AsyncConnection[tuple[object, ...]], where: str) -> int:
    """Run the migrations past the database's recorded version; returns the version found.

    Runs in one transaction holding an advisory lock, so replicas starting together
    migrate one after another, and the later ones find the work done. Raises `StoreError`
    naming `where` when the database was written by a newer alertd, or holds another
    program's tables.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() ORDER BY table_name"
        )
        tables = [str(name) for (name,) in await cursor.fetchall()]
        if tables and "schema_version" not in tables:
            raise StoreError(
                f"cannot open the state store at {where}: the database holds tables that are"
                f" not alertd's ({', '.join(tables)}); give alertd a database of its own"
            )
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
        )
        cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cursor.fetchone()
        found = int(str(row[0])) if row is not None else 0
        if found > len(MIGRATIONS):
            raise StoreError(
                f"cannot open the state store at {where}: it was written by a newer alertd"
                f" (schema version {found}; this alertd knows {len(MIGRATIONS)}): run the"
                " alertd that wrote it, or a later one"
            )
        for version, steps in enumerate(MIGRATIONS[found:], start=found + 1):
            for statement in steps:
                await conn.execute(statement.encode())
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return found
