"""One daemon per PostgreSQL database: a session advisory lock, held on a connection of
its own for the daemon's life.

Until replicas share the work, two daemons on one database would both page. The lock is
the server's: it goes when the holder's connection goes, however the holder ended. When
the connection drops (a server restart), the lock is taken again before the next commit;
if another daemon took it meanwhile, commits fail, naming it, rather than two page.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection

from alertd.errors import StoreError

log = structlog.get_logger(__name__)

# Any constant every alertd agrees on: "alertd!" in ASCII, as a bigint.
DAEMON_LOCK = 0x616C6572746421

HOLDER = (
    "SELECT a.application_name, host(a.client_addr), a.pid, a.backend_start"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND (l.classid::bigint << 32) | l.objid::bigint = %s"
)


def _name() -> str:
    """What this daemon calls itself on the server (seen in `pg_stat_activity`)."""
    return f"alertd pid {os.getpid()} on {socket.gethostname()}"[:63]


class Guard:
    """The advisory lock one daemon holds on its database."""

    def __init__(self, url: str, where: str, conn: AsyncConnection[tuple[Any, ...]]) -> None:
        self._url = url
        self._where = where
        self._conn: AsyncConnection[tuple[Any, ...]] | None = conn

    @classmethod
    async def take(cls, url: str, where: str) -> Guard:
        """Hold the lock; raises `StoreError` naming the database and the holder when
        another alertd holds it, and as `psycopg` does when the server cannot be reached."""
        return cls(url, where, await _locked(url, where))

    async def check(self) -> None:
        """Still hold the lock, taking it again on a new connection if the old one dropped;
        raises `StoreError` when that cannot be done."""
        if self._conn is not None and not self._conn.closed:
            try:
                await self._conn.execute("SELECT 1")
                return
            except psycopg.Error:
                await self._drop()
        try:
            self._conn = await _locked(self._url, self._where)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot hold the daemon lock on the state store at {self._where}: {exc}"
            ) from exc
        log.warning("store.daemon_lock_retaken", database=self._where)

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing the session releases its advisory locks.
            await conn.close()


async def _locked(url: str, where: str) -> AsyncConnection[tuple[Any, ...]]:
    conn = await AsyncConnection.connect(
        url, autocommit=True, application_name=_name(), connect_timeout=5
    )
    try:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (DAEMON_LOCK,))
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return conn
        cursor = await conn.execute(HOLDER, (DAEMON_LOCK,))
        holder = await cursor.fetchone()
    except BaseException:
        await conn.close()
        raise
    await conn.close()
    who = (
        "another alertd"
        if holder is None
        else f"{holder[0] or 'another alertd'} (from {holder[1] or 'a local socket'},"
        f" server pid {holder[2]}, connected {holder[3]:%Y-%m-%d %H:%M:%S %Z})"
    )
    raise StoreError(
        f"cannot open the state store at {where}: it is in use by {who}; running more than"
        " one alertd on one database is not supported yet: stop the other one, or give this"
        " one another database"
    )
