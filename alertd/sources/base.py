"""The Source role: what the engine needs from any backend that answers SQL."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from alertd.model import Query, Rows
from alertd.query.records import Record


class Source(Protocol):
    """Runs planned queries against one backend and returns their rows.

    `run` raises `SourceError` (or a subclass) with `retryable` set by the source, which
    knows its backend; the caller decides when to try again.
    """

    async def run(self, query: Query) -> Rows: ...

    async def aclose(self) -> None: ...


class RecordSource(Protocol):
    """Fetches the records of one declared non-SQL source for a time range.

    Rules on it become measures computed by alertd over these records; one fetch per tick
    answers every rule on the source. Failures raise `SourceError`, as `Source.run` does.
    """

    name: str

    async def fetch(self, since: dt.datetime, until: dt.datetime) -> list[Record]: ...

    async def aclose(self) -> None: ...
