"""A sliding-window budget of queries, as an API that allows N queries per period enforces.

Cloudflare's GraphQL Analytics API allows 300 queries in any 5 minutes; asking beyond that
earns a refusal and, repeated, a longer block. The budget refuses the query before it is
sent, saying when the next one may go.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable

from alertd.errors import SourceError


class QueryBudget:
    """At most `limit` queries in any `per`, counted on the injected clock."""

    def __init__(self, limit: int, per: dt.timedelta, now: Callable[[], dt.datetime]) -> None:
        if limit < 1 or per <= dt.timedelta(0):
            raise ValueError("a query budget needs a limit of at least 1 and a period > 0")
        self.limit = limit
        self.per = per
        self._now = now
        self._sent: deque[dt.datetime] = deque()

    def spend(self, what: str) -> None:
        """Count one query now, or raise a retryable SourceError if the budget is spent."""
        now = self._now()
        while self._sent and self._sent[0] <= now - self.per:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            wait = (self._sent[0] + self.per - now).total_seconds()
            raise SourceError(
                f"{what}: {self.limit} queries in {self.per} already sent; "
                f"the next may go in {wait:.0f} s",
                retryable=True,
                retry_after=wait,
            )
        self._sent.append(now)

    @property
    def used(self) -> int:
        return len(self._sent)
