"""Which store the settings name: PostgreSQL when `ALERTD_STATE_URL` is set, else the
SQLite file in the state directory."""

from __future__ import annotations

from alertd.clock import Clock
from alertd.settings import Settings
from alertd.store.base import Store
from alertd.store.ownership import Ownership, SoleOwner
from alertd.store.postgres import PostgresStore, describe
from alertd.store.sqlite import SqliteStore


def state_location(settings: Settings) -> str:
    """Where the state lives, for messages (a database URL without its password)."""
    url = settings.state_url.get_secret_value()
    return describe(url) if url else str(settings.state_file)


async def open_store(settings: Settings, *, exclusive: bool = False) -> Store:
    """Open the store the settings name; raises `StoreError` as the store's `open` does.

    `exclusive` is for the daemon: a second daemon on the same SQLite state is refused,
    naming the first (the state directory's lock).
    """
    url = settings.state_url.get_secret_value()
    if url:
        # Several daemons may share one database: they share its work through leases.
        return await PostgresStore.open(url, history_limit=settings.history_limit)
    return await SqliteStore.open(
        settings.state_file, history_limit=settings.history_limit, exclusive=exclusive
    )


def ownership_of(store: Store, settings: Settings, clock: Clock) -> Ownership:
    """How this daemon shares the work on `store`: through leases on PostgreSQL, where
    other replicas may run (every write is then fenced by them); alone on the others."""
    if isinstance(store, PostgresStore):
        return store.lease_keeper(clock, seconds=settings.lease_seconds)
    return SoleOwner()
