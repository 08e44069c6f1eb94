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

from alertd.errors import SourceAuthError, SourceError
from alertd.query.records import Record
from alertd.sources.stats import SourceStats

ERROR_CHARS = 300
# A health answer is small; anything larger is refused rather than parsed.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


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
        stats = self.stats.of(self.name)
        stats.queries += 1
        self.stats.attempted(self.name, 0)
        try:
            answer = await self._client.request(
                self._method, self._url, headers=self._headers, timeout=self._timeout
            )
            records = self._read(answer)
        except httpx.HTTPError as exc:
            stats.failed += 1
            raise SourceError(
                f"source {self.name}: {type(exc).__name__} asking {self._url}", retryable=True
            ) from None
        except SourceError:
            stats.failed += 1
            raise
        stats.rows_read += len(records)
        return records

    def _read(self, answer: httpx.Response) -> list[Record]:
        status = answer.status_code
        if status in (401, 403):
            raise SourceAuthError(
                f"source {self.name}: {self._url} refused the credentials (HTTP {status})",
                retryable=False,
                status=status,
            )
        if not 200 <= status < 300:
            raise SourceError(
                f"source {self.name}: HTTP {status} from {self._url}",
                retryable=status >= 500 or status in (408, 429),
                status=status,
            )
        if len(answer.content) > MAX_ANSWER_BYTES:
            raise SourceError(
                f"source {self.name}: the answer of {self._url} is over {MAX_ANSWER_BYTES} bytes",
                retryable=False,
            )
        try:
            document = answer.json()
        except ValueError:
            raise SourceError(
                f"source {self.name}: {self._url} answered with malformed JSON: "
                f"{_excerpt(answer.text)}",
                retryable=True,
            ) from None
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
        what = "nothing" if found is None else f"{type(found).__name__} {_excerpt(repr(found))}"
        wanted = "a number" if kind == "value" else "text or a number"
        return SourceError(
            f"source {self.name}: {kind} {name!r} (path {path!r}) found {what}, "
            f"not {wanted}, in the answer of {self._url}",
            retryable=False,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
