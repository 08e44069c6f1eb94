"""Run planned SQL against the Workers Analytics Engine SQL API, retrying what may pass.

This is the only module that knows httpx and tenacity errors; everything leaves it as a
`SourceError` whose `retryable` says whether the same query may succeed later.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from random import Random
from urllib.parse import quote

import anyio
import httpx
import structlog
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from alertd.errors import QueryRejectedError, SourceAuthError, SourceError
from alertd.model import Query, Rows
from alertd.retry_after import retry_after_seconds
from alertd.sources import ae_rows
from alertd.sources.answer_shape import shape_problem
from alertd.sources.stats import SourceStats

REJECTION_CHARS = 500
# Past this many seconds of retrying, a tick is better off without the answer.
DEFAULT_DEADLINE_SECONDS = 120.0
# 408 and 429 are the 4xx answers that mean "later", not "never"; every 5xx may pass.
RETRYABLE_4XX = frozenset({408, 429})
# An answer can be held in memory up to this size; anything bigger is refused.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Only an excerpt of an error answer is ever shown, so little more of it is read.
ERROR_BODY_BYTES = 64 * 1024

log = structlog.get_logger(__name__)


class AnalyticsEngineSource:
    """A `Source` that POSTs SQL to `{api_base}/accounts/{account_id}/analytics_engine/sql`."""

    def __init__(
        self,
        api_base: str,
        account_id: str,
        token: SecretStr,
        *,
        sleep: Callable[[float], Awaitable[None]],
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        concurrency: int = 4,
        random: Random | None = None,
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        stats: SourceStats | None = None,
    ) -> None:
        if timeout <= 0 or retries < 0 or concurrency < 1:
            raise ValueError("need timeout > 0, retries >= 0 and concurrency >= 1")
        if max_response_bytes < 1:
            raise ValueError("the answer size limit must be at least 1 byte")
        if deadline <= 0:
            raise ValueError("the query deadline must be more than 0 seconds")
        if initial_backoff < 0 or max_backoff < 0:
            raise ValueError("backoff delays cannot be negative")
        # A header-illegal token would make the HTTP layer raise with the header in its
        # message; refuse it here, naming nothing of its value.
        if any(not 0x21 <= ord(ch) <= 0x7E for ch in token.get_secret_value()):
            raise ValueError("the API token holds characters that cannot go in an HTTP header")
        self.stats = stats if stats is not None else SourceStats()
        self._api_base = api_base.rstrip("/")
        self._account_id = account_id
        self._url = f"{self._api_base}/accounts/{quote(account_id, safe='')}/analytics_engine/sql"
        if problem := _url_problem(self._url):
            # Found here, not as an OverflowError deep inside the first request.
            raise ValueError(f"CLOUDFLARE_API_BASE cannot be used: {problem}")
        self._token = token
        self._sleep = sleep
        self._timeout = timeout
        self._retries = retries
        self._random = random if random is not None else Random()
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._monotonic = monotonic
        self._deadline = deadline
        self._max_response_bytes = max_response_bytes
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._owns_client = client is None
        self._client = client if client is not None else _pooled_client(concurrency, timeout)

    def __repr__(self) -> str:
        return (
            f"AnalyticsEngineSource(api_base={self._api_base!r}, account_id={self._account_id!r})"
        )

    async def run(self, query: Query) -> Rows:
        """Run one query; raise `SourceError` once it failed for good, ran out of attempts,
        or would have to wait past its deadline."""
        budget = _Budget(self._monotonic, self._deadline, self._retries + 1)
        stats = self.stats.of(query.dataset)
        stats.queries += 1
        retrying = AsyncRetrying(
            stop=budget.stop,
            wait=self._delay,
            retry=retry_if_exception(_is_retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number == 2:
                        stats.retried += 1
                    rows = await self._attempt(query, number, budget)
        except SourceError as exc:
            stats.failed += 1
            if not exc.retryable:
                raise
            raise SourceError(
                f"AE query for {_describe(query)} {budget.gave_up()}: {exc.message}",
                retryable=True,
                status=exc.status,
                retry_after=exc.retry_after,
            ) from exc
        stats.rows_read += len(rows.data)
        return rows

    async def aclose(self) -> None:
        """Close the HTTP client if this source created it; a lent client stays open."""
        if self._owns_client:
            await self._client.aclose()

    async def _attempt(self, query: Query, attempt: int, budget: _Budget) -> Rows:
        fields = {"dataset": query.dataset, "rules": list(query.rules), "attempt": attempt}
        async with self._limiter:
            started = self._monotonic()
            try:
                rows = self._read(query, await self._exchange(query, budget.left(started)))
            except SourceError as exc:
                log.warning(
                    "source.query_failed",
                    **fields,
                    status=exc.status,
                    duration_ms=self._elapsed_ms(started),
                    retryable=exc.retryable,
                    retry_after=exc.retry_after,
                    error=exc.message,
                )
                raise
        log.info("source.query", **fields, status=200, duration_ms=self._elapsed_ms(started))
        return rows

    async def _exchange(self, query: Query, time_left: float) -> _Answer:
        """Send the query and read its whole answer within the timeout, or what is left of
        the deadline if less: httpx's read timeout starts again with every byte, so an
        answer trickling in would otherwise hold the tick as long as the server likes."""
        limit = min(self._timeout, time_left)
        if limit <= 0:
            raise SourceError(f"no time left of its {self._deadline:g} s deadline", retryable=True)
        with anyio.move_on_after(limit):
            return await self._post(query)
        cut = " (what was left of its deadline)" if limit < self._timeout else ""
        raise SourceError(f"no whole answer within {round(limit, 2):g} s{cut}", retryable=True)

    async def _post(self, query: Query) -> _Answer:
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Content-Type": "text/plain; charset=utf-8",
        }
        sql = query.sql.encode("utf-8")
        self.stats.attempted(query.dataset, len(sql))
        try:
            async with self._client.stream(
                "POST", self._url, content=sql, headers=headers, timeout=self._timeout
            ) as response:
                return await self._receive(query, response)
        except httpx.TimeoutException as exc:
            reason = f"no answer within {self._timeout:g} s ({type(exc).__name__})"
            raise SourceError(reason, retryable=True) from exc
        except httpx.UnsupportedProtocol as exc:
            reason = f"cannot reach AE at {self._url}: {self._redact(str(exc))}"
            raise SourceError(reason, retryable=False) from exc
        except httpx.RequestError as exc:
            reason = f"request failed: {type(exc).__name__}: {self._redact(str(exc))}"
            raise SourceError(reason, retryable=True) from exc

    async def _receive(self, query: Query, response: httpx.Response) -> _Answer:
        """The answer's body, read as it streams in, never past the size limit."""
        status = response.status_code
        if status != 200:
            excerpt, _ = await _first_bytes(response, ERROR_BODY_BYTES)
            return _Answer(status, response.headers, bytes(excerpt))
        limit = self._max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(query, limit)
        body, more = await _first_bytes(response, limit)
        if more:
            raise _too_large(query, limit)
        return _Answer(status, response.headers, bytes(body))

    def _read(self, query: Query, answer: _Answer) -> Rows:
        status = answer.status
        if status == 200:
            try:
                rows = ae_rows.parse(answer.body)
            except SourceError as exc:
                # The parser quotes the body, which we must redact; keep only its cause.
                message = self._redact(exc.message)
                raise SourceError(message, retryable=True, status=200) from exc.__cause__
            if problem := shape_problem(rows, query):
                raise SourceError(self._redact(f"AE answer {problem}"), retryable=True, status=200)
            return rows
        reason = self._redact(_reason(answer.body))
        if status == 403:
            raise SourceAuthError(
                f"AE refused the API token for account {self._account_id} (HTTP 403): check "
                "CLOUDFLARE_API_TOKEN and that it has the 'Account Analytics: Read' "
                f"permission; AE said: {ae_rows.excerpt(reason)!r}",
                retryable=False,
                status=status,
            )
        if status == 422:
            raise QueryRejectedError(
                f"AE rejected the SQL for {_describe(query)} (HTTP 422): "
                f"{ae_rows.excerpt(reason, REJECTION_CHARS)!r}",
                retryable=False,
                status=status,
            )
        if status in RETRYABLE_4XX or 500 <= status <= 599:
            raise SourceError(
                f"HTTP {status}: {ae_rows.excerpt(reason)!r}",
                retryable=True,
                status=status,
                retry_after=retry_after_seconds(answer.headers),
            )
        raise SourceError(
            f"AE answered HTTP {status} for {_describe(query)}: {ae_rows.excerpt(reason)!r}",
            retryable=False,
            status=status,
        )

    def _delay(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: AE's Retry-After if given, else full jitter."""
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, SourceError) and failure.retry_after is not None:
            return failure.retry_after
        exponent = min(state.attempt_number - 1, 32)
        ceiling = min(self._max_backoff, self._initial_backoff * 2.0**exponent)
        return self._random.uniform(0.0, ceiling)

    def _redact(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text

    def _elapsed_ms(self, started: float) -> float:
        return round((self._monotonic() - started) * 1000.0, 1)


class _Budget:
    """When one query stops retrying: after its last attempt, or rather than wait past its
    deadline — a Retry-After of minutes on every attempt would otherwise stall a tick."""

    def __init__(self, monotonic: Callable[[], float], deadline: float, attempts: int) -> None:
        self._monotonic = monotonic
        self._started = monotonic()
        self._deadline = deadline
        self._attempts = attempts
        self._made = 0
        self._refused_wait: float | None = None

    def stop(self, state: RetryCallState) -> bool:
        """Tenacity's stop test; it runs once the wait before the next attempt is known."""
        self._made = state.attempt_number
        if self._made >= self._attempts:
            return True
        spent = self._monotonic() - self._started
        if spent >= self._deadline:
            self._refused_wait = 0.0
            return True
        if spent + state.upcoming_sleep > self._deadline:
            self._refused_wait = state.upcoming_sleep
            return True
        return False

    def left(self, now: float) -> float:
        """Seconds from `now` (a reading of the same monotonic clock) to the deadline."""
        return self._deadline - (now - self._started)

    def gave_up(self) -> str:
        attempts = f"{self._made} attempt{'s' if self._made != 1 else ''}"
        if self._refused_wait is None:
            return f"failed after {attempts}"
        if not self._refused_wait:
            return (
                f"gave up after {attempts}: its {self._deadline:g} s deadline "
                "(ALERTD_QUERY_DEADLINE_SECONDS) has passed"
            )
        return (
            f"gave up after {attempts}: waiting {self._refused_wait:g} s more would pass its "
            f"{self._deadline:g} s deadline (ALERTD_QUERY_DEADLINE_SECONDS)"
        )


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer read whole (or, for an error, its beginning)."""

    status: int
    headers: httpx.Headers
    body: bytes


def _too_large(query: Query, limit: int) -> SourceError:
    # The same statement would bring the same flood: not retried within this tick.
    return SourceError(
        f"AE answer for {_describe(query)} is larger than {limit} bytes "
        "(ALERTD_QUERY_MAX_RESPONSE_BYTES); the rest was not read",
        retryable=False,
        status=200,
    )


async def _first_bytes(response: httpx.Response, limit: int) -> tuple[bytearray, bool]:
    """Up to `limit` bytes of the body, and whether there was more (left unread)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            del body[limit:]
            return body, True
    return body, False


def _reason(body: bytes) -> str:
    """AE's error text: plain text, or the messages of a Cloudflare JSON error envelope."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        envelope = json.loads(text)
    except ValueError:
        return text
    errors = envelope.get("errors") if isinstance(envelope, dict) else None
    if isinstance(errors, list):
        messages = [e["message"] for e in errors if isinstance(e, dict) and "message" in e]
        if messages:
            return "; ".join(str(m) for m in messages)
    return text


def _url_problem(url: str) -> str | None:
    """Why httpx could not send a request to `url`, or None when it can."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"it is not a valid URL ({exc})"
    if parsed.scheme not in ("http", "https"):
        return "it must start with https:// (or http:// for a local emulator)"
    if not parsed.host:
        return "it names no host"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return f"port {parsed.port} is not between 1 and 65535"
    return None


def _describe(query: Query) -> str:
    rules = ", ".join(query.rules) if query.rules else "no rules"
    return f"dataset {query.dataset!r} (rules: {rules})"


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, SourceError) and exc.retryable


def _pooled_client(concurrency: int, timeout: float) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(limits=limits, timeout=timeout)
