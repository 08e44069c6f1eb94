"""The Source role: what the engine needs from any backend that answers SQL."""

from __future__ import annotations

from typing import Protocol

from alertd.model import Query, Rows


class Source(Protocol):
    """Runs planned queries against one backend and returns their rows.

    `run` raises `SourceError` (or a subclass) with `retryable` set by the source, which
    knows its backend; the caller decides when to try again.
    """

    async def run(self, query: Query) -> Rows: ...

    async def aclose(self) -> None: ...
