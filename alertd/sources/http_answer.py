"""What the HTTP sources share: one counted request, and its answer read as JSON or refused.

Every failure is a `SourceError` naming the source and what was asked, with an excerpt
of the answer where one helps and never more (a token could echo back in a long body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from alertd.errors import SourceAuthError, SourceError
from alertd.query.records import Record
from alertd.sources.stats import SourceStats

ERROR_CHARS = 300
# The answers read here are small; anything larger is refused rather than parsed.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


async def counted_fetch(
    source: str,
    stats: SourceStats,
    asked: str,
    sent_bytes: int,
    send: Callable[[], Awaitable[httpx.Response]],
    read: Callable[[httpx.Response], list[Record]],
) -> list[Record]:
    """Send one request and read its records, counting the query, its failure or its rows."""
    counts = stats.of(source)
    counts.queries += 1
    stats.attempted(source, sent_bytes)
    try:
        answer = await send()
    except httpx.HTTPError as exc:
        counts.failed += 1
        raise SourceError(
            f"source {source}: {type(exc).__name__} asking {asked}", retryable=True
        ) from None
    try:
        records = read(answer)
    except SourceError:
        counts.failed += 1
        raise
    counts.rows_read += len(records)
    return records


def json_answer(source: str, asked: str, answer: httpx.Response) -> Any:
    """The answer's JSON document, or a `SourceError` saying why it cannot be read.

    401 and 403 are refused credentials, which retrying will not mend; 5xx, 408 and 429
    are worth another try.
    """
    status = answer.status_code
    if status in (401, 403):
        raise SourceAuthError(
            f"source {source}: {asked} refused the credentials (HTTP {status})",
            retryable=False,
            status=status,
        )
    if not 200 <= status < 300:
        raise SourceError(
            f"source {source}: HTTP {status} from {asked}: {excerpt(answer.text)}",
            retryable=status >= 500 or status in (408, 429),
            status=status,
        )
    if len(answer.content) > MAX_ANSWER_BYTES:
        raise SourceError(
            f"source {source}: the answer of {asked} is over {MAX_ANSWER_BYTES} bytes",
            retryable=False,
            status=status,
        )
    try:
        return answer.json()
    except ValueError:
        raise SourceError(
            f"source {source}: {asked} answered with malformed JSON: {excerpt(answer.text)}",
            retryable=True,
            status=status,
        ) from None


def excerpt(text: str) -> str:
    """The text on one line, cut to ERROR_CHARS."""
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
