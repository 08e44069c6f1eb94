"""A JSON endpoint polled each tick, its values and labels picked out with JMESPath.

`records` turns the answer into a list of objects (one per database, say); each label
and value is a JMESPath expression evaluated on one record. A value that is missing or
not a number is a failed fetch naming the path, never a silent 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from alertd.errors import SourceError
from alertd.query.records import Record
from alertd.sources.http_answer import counted_fetch, excerpt, json_answer
from alertd.sources.stats import SourceStats


def compile_path(text: str) -> ParsedResult:
    """A JMESPath expression, or ValueError saying why it is not one."""
    try:
        return jmespath.compile(text)
    except JMESPathError as exc:
        raise ValueError(f"not a JMESPath expression: {exc}") from None


class HttpJsonSource:
    """A `RecordSource` that asks one URL and reads records out of its JSON answer."""

    def __init__(
        self,
        name: str,
        *,
        url: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        records: str = "@",
        labels: Mapping[str, str] | None = None,
        values: Mapping[str, str],
        client: httpx.AsyncClient | None = None,
        stats: SourceStats | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._method = method
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._records = compile_path(records)
        self._labels = {k: (v, compile_path(v)) for k, v in (labels or {}).items()}
        self._values = {k: (v, compile_path(v)) for k, v in values.items()}
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self.stats = stats if stats is not None else SourceStats(now)

    async def fetch(self, since: dt.datetime, until: dt.datetime) -> list[Record]:
        """The records as the endpoint reports them now; the time range is not its to use."""

        async def send() -> httpx.Response:
            return await self._client.request(
                self._method, self._url, headers=self._headers, timeout=self._timeout
            )

        return await counted_fetch(self.name, self.stats, self._url, 0, send, self._read)

    def _read(self, answer: httpx.Response) -> list[Record]:
        document = json_answer(self.name, self._url, answer)
        found = self._records.search(document)
        items = found if isinstance(found, list) else [found]
        if found is None or not all(isinstance(item, dict) for item in items):
            raise SourceError(
                f"source {self.name}: records path {self._records.expression!r} finds no "
                f"objects in the answer of {self._url}",
                retryable=False,
            )
        return [self._record(item) for item in items]

    def _record(self, item: dict[str, Any]) -> Record:
        record: dict[str, str | float | None] = {}
        for label, (text, path) in self._labels.items():
            found = path.search(item)
            if found is None or isinstance(found, dict | list):
                raise self._missing("label", label, text, found)
            record[label] = str(found)
        for value, (text, path) in self._values.items():
            found = path.search(item)
            if isinstance(found, bool) or not isinstance(found, int | float):
                raise self._missing("value", value, text, found)
            record[value] = float(found)
        return record

    def _missing(self, kind: str, name: str, path: str, found: object) -> SourceError:
        what = "nothing" if found is None else f"{type(found).__name__} {excerpt(repr(found))}"
        wanted = "a number" if kind == "value" else "text or a number"
        return SourceError(
            f"source {self.name}: {kind} {name!r} (path {path!r}) found {what}, "
            f"not {wanted}, in the answer of {self._url}",
            retryable=False,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
