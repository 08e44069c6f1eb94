"""A signal the store's writers share: the evaluator says it committed, the notifier waits.

Engine and notification never call each other; they meet in the store, and this is how
the notifier learns that there is something new to read there.
"""

from __future__ import annotations

import anyio


class Commits:
    """Counts commits and wakes whoever waits for the next one."""

    def __init__(self) -> None:
        self.count = 0
        self._next: anyio.Event | None = None

    def committed(self) -> None:
        """A commit succeeded: wake the waiters of `next()`."""
        self.count += 1
        if self._next is not None:
            self._next.set()
            self._next = None

    def next(self) -> anyio.Event:
        """An event set by the first commit after this call (taken before reading the
        store, so a commit made while reading still wakes the reader)."""
        if self._next is None:
            self._next = anyio.Event()
        return self._next
