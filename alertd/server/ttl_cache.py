"""Answers kept for a short time, so many viewers of one page cost one billed query."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

from alertd.clock import Clock

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Each key's value for `ttl` after it was computed, at most `size` keys.

    Callers asking for the same key at once wait for one computation rather than start
    their own: the point is that AE sees one query however many people look. A computation
    that raises is not kept, so the next caller tries again.
    """

    def __init__(self, clock: Clock, ttl: dt.timedelta, size: int = 64) -> None:
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._values: OrderedDict[Hashable, tuple[dt.datetime, V]] = OrderedDict()
        self._locks: dict[Hashable, anyio.Lock] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[V]]) -> V:
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh[0]
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            fresh = self._fresh(key)
            if fresh is not None:
                return fresh[0]
            value = await compute()
            self._values[key] = (self._clock.now() + self._ttl, value)
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        if not lock.locked():
            self._locks.pop(key, None)
        return value

    def _fresh(self, key: Hashable) -> tuple[V] | None:
        kept = self._values.get(key)
        if kept is None or kept[0] <= self._clock.now():
            return None
        return (kept[1],)
