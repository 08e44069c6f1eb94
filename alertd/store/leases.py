"""Leases in PostgreSQL, so replicas on one database share the work without two doing
the same thing.

Each replica beats every third of the lease: it marks itself alive (`replicas`), renews
what it holds, gives back what is more than its share, and takes free or expired leases
up to its share — about `ceil(leases / live replicas)`. A replica that dies stops
renewing; its leases expire and the others take them at their next beat, so a lease moves
within `seconds * 4/3`. Expiry is judged on the server's clock.

A lease is only a promise about the future; the token is what makes it safe. Every write
made under a lease checks, in its own transaction, that the lease row still names this
replica and token (`fence`), holding the row so a take waits for the write to end. A
replica that was paused or cut off and comes back finds another token there, and its
writes, the marking of a send among them, fail with `LeaseLostError`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
import socket
import zlib
from collections.abc import Iterable
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from alertd.clock import Clock
from alertd.errors import LeaseLostError, StoreError
from alertd.store.ownership import NOTIFY_LEASE, lease_names

Conn = AsyncConnection[tuple[Any, ...]]

log = structlog.get_logger(__name__)

SECONDS = "make_interval(secs => %(seconds)s)"
HEARTBEAT = (
    "INSERT INTO replicas (id, seen_at) VALUES (%(me)s, clock_timestamp())"
    " ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at"
)
# Replicas silent for ten leases are forgotten, so the table does not grow with restarts.
FORGET = f"DELETE FROM replicas WHERE seen_at < clock_timestamp() - 10 * {SECONDS}"
LIVE = f"SELECT id FROM replicas WHERE seen_at > clock_timestamp() - {SECONDS}"
TAKEN = "SELECT name, holder FROM leases WHERE expires_at > clock_timestamp()"
RENEW = (
    f"UPDATE leases SET expires_at = clock_timestamp() + {SECONDS}"
    " WHERE name = %(name)s AND holder = %(me)s AND token = %(token)s"
)
# A new token from the sequence, only when the lease is free: never held, or expired.
TAKE = (
    "INSERT INTO leases (name, holder, token, expires_at) VALUES"
    f" (%(name)s, %(me)s, nextval('lease_tokens'), clock_timestamp() + {SECONDS})"
    " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, token = EXCLUDED.token,"
    " expires_at = EXCLUDED.expires_at WHERE leases.expires_at <= clock_timestamp()"
    " RETURNING token"
)
RELEASE = (
    "UPDATE leases SET expires_at = clock_timestamp()"
    " WHERE name = %(name)s AND holder = %(me)s AND token = %(token)s"
)
# FOR SHARE: a take of this lease waits until the fenced write commits or rolls back.
FENCE = (
    "SELECT 1 FROM leases WHERE name = %(name)s AND holder = %(me)s AND token = %(token)s"
    " AND expires_at > clock_timestamp() FOR SHARE"
)


def new_replica_id() -> str:
    """A name no other replica has, that says where it runs."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"[:63]


def share(leases: int, counts: dict[str, int], me: str) -> int:
    """How many leases `me` should hold, given how many each live replica holds now.

    Each takes at most `ceil(leases / live)`; while a live replica holds fewer than
    `floor(leases / live)`, the others keep to the floor, so a replica that joins gets its
    part instead of finding everything taken.
    """
    live = max(len(counts), 1)
    low, high = leases // live, math.ceil(leases / live)
    starving = any(count < low for replica, count in counts.items() if replica != me)
    return low if starving else high


def preference(replica: str, lease: str) -> int:
    """An order of leases that differs by replica, so replicas taking free leases at the
    same moment mostly try different ones."""
    return zlib.crc32(f"{replica}/{lease}".encode())


class LeaseKeeper:
    """The leases one replica holds on one database, kept by `beat`."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Conn],
        clock: Clock,
        *,
        seconds: float,
        replica: str | None = None,
        where: str = "the state store",
    ) -> None:
        if seconds <= 0:
            raise ValueError(f"a lease must last more than 0 seconds, not {seconds}")
        self._pool = pool
        self._clock = clock
        self.seconds = seconds
        self._replica = replica or new_replica_id()
        self._where = where
        self._names: list[str] = [NOTIFY_LEASE]
        self._held: dict[str, int] = {}
        # Until when, on this process's clock, the leases renewed last are surely held: a
        # replica that cannot renew (or was frozen) stops acting on them by itself.
        self._valid_until: dt.datetime | None = None
        self.beats = 0
        # What the last beat saw: the live replicas, and who holds each lease.
        self.live: list[str] = []
        self.holders: dict[str, str] = {}

    @property
    def replica(self) -> str:
        return self._replica

    @property
    def shared(self) -> bool:
        return True

    def want(self, groups: Iterable[str]) -> None:
        """Work these rule groups (a reload calls this too); leases of groups gone are
        given back at the next beat."""
        self._names = lease_names(groups)

    def token(self, lease: str) -> int | None:
        if self._valid_until is None or self._clock.now() >= self._valid_until:
            return None
        return self._held.get(lease)

    def held(self) -> list[str]:
        return sorted(name for name in self._held if self.token(name) is not None)

    @property
    def leader(self) -> str | None:
        """The replica holding the notification pipeline, as the last beat saw it."""
        return self.holders.get(NOTIFY_LEASE)

    async def beat(self) -> None:
        """Mark this replica alive, renew, give back and take leases; raises `StoreError`
        when the database cannot be reached (what was held then lapses on its own)."""
        started = self._clock.now()
        try:
            async with self._pool.connection() as conn:
                await self._beat(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot renew leases on {self._where}: {exc}") from exc
        self._valid_until = started + dt.timedelta(seconds=self.seconds)
        self.beats += 1

    async def _beat(self, conn: Conn) -> None:
        async with conn.transaction():
            await self._beat_in_transaction(conn)

    async def _beat_in_transaction(self, conn: Conn) -> None:
        me, seconds = self._replica, self.seconds
        args: dict[str, Any] = {"me": me, "seconds": seconds}
        await conn.execute(HEARTBEAT, args)
        await conn.execute(FORGET, args)
        held: dict[str, int] = {}
        for name, token in self._held.items():
            renewed = await conn.execute(RENEW, {**args, "name": name, "token": token})
            if renewed.rowcount and name in self._names:
                held[name] = token
            elif renewed.rowcount:  # a group no longer in the rules
                await conn.execute(RELEASE, {**args, "name": name, "token": token})
            else:
                log.warning("lease.lost", lease=name, replica=me, token=token)
        live = [str(r) for (r,) in await (await conn.execute(LIVE, args)).fetchall()]
        taken = {str(n): str(h) for n, h in await (await conn.execute(TAKEN)).fetchall()}
        counts = dict.fromkeys(live, 0) | {me: 0}
        for holder in taken.values():
            if holder in counts:
                counts[holder] += 1
        counts[me] = len(held)
        target = share(len(self._names), counts, me)
        ranked = sorted(self._names, key=lambda name: preference(me, name))
        # Given back: the ones this replica prefers least (the leader's lease last).
        for name in [n for n in reversed(ranked) if n in held and n != NOTIFY_LEASE]:
            if len(held) <= target:
                break
            await conn.execute(RELEASE, {**args, "name": name, "token": held.pop(name)})
            taken.pop(name, None)
            log.info("lease.released", lease=name, replica=me)
        for name in ranked:
            if len(held) >= target:
                break
            if name in held or name in taken:
                continue
            row = await (await conn.execute(TAKE, {**args, "name": name})).fetchone()
            if row is not None:
                held[name] = int(row[0])
                taken[name] = me
                log.info("lease.taken", lease=name, replica=me, token=held[name])
        self._held = held
        self.live = sorted(live)
        self.holders = {name: holder for name, holder in taken.items()} | dict.fromkeys(held, me)

    async def release_all(self) -> None:
        """Give back every lease and leave the live replicas now (a clean stop), so the
        others take this one's share at once."""
        held, self._held, self._valid_until = self._held, {}, None
        try:
            async with self._pool.connection() as conn, conn.transaction():
                for name, token in held.items():
                    args = {"me": self._replica, "name": name, "token": token}
                    await conn.execute(RELEASE, args)
                await conn.execute("DELETE FROM replicas WHERE id = %s", (self._replica,))
        except psycopg.Error as exc:
            log.warning("lease.release_failed", replica=self._replica, error=str(exc))

    async def run(self) -> None:
        """Beat every third of the lease until cancelled; a failed beat is logged and
        tried again at the next."""
        while True:
            try:
                await self.beat()
            except StoreError as exc:
                log.warning("lease.beat_failed", replica=self._replica, error=str(exc))
            await self._clock.sleep(self.seconds / 3)

    async def fence(self, conn: Conn, lease: str) -> None:
        """Inside the caller's transaction: go on only if this replica still holds `lease`
        with the token it took; raises `LeaseLostError` otherwise."""
        token = self.token(lease)
        if token is not None:
            args = {"me": self._replica, "name": lease, "token": token}
            if await (await conn.execute(FENCE, args)).fetchone() is not None:
                return
        raise LeaseLostError(
            f"replica {self._replica} does not hold the lease {lease!r} on {self._where}"
        )
