"""Keeping the store small over months: old history is deleted once an hour."""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog

from alertd.clock import Clock
from alertd.errors import StoreError
from alertd.store.base import Pruned, Store

log = structlog.get_logger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


async def prune_old(store: Store, now: dt.datetime, retention: dt.timedelta) -> Pruned | None:
    """Delete what is older than `retention`; None (and a log line) when the store fails."""
    try:
        pruned = await store.prune(now - retention)
    except StoreError:
        log.exception("store.prune_failed")
        return None
    log.info("store.pruned", before=(now - retention).isoformat(), **dataclasses.asdict(pruned))
    return pruned


async def prune_forever(store: Store, clock: Clock, retention: dt.timedelta) -> None:
    """Prune now, then every hour, until cancelled."""
    while True:
        await prune_old(store, clock.now(), retention)
        await clock.sleep(PRUNE_EVERY_SECONDS)
