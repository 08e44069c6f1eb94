"""What every receiver is, and the one HTTP exchange they all make.

This is the only receiver module that knows httpx's errors: a request either returns an
answer or leaves as a `ReceiverError` saying whether the same payload may pass later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NoReturn, Protocol, TextIO, TypeVar, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

import httpx
import structlog
from pydantic import BaseModel

from alertd.errors import ReceiverError
from alertd.model import Notification
from alertd.retry_after import retry_after_seconds

DEFAULT_TIMEOUT_SECONDS = 10.0
ERROR_TEXT_CHARS = 300
# Path segments and query values this long may be credentials (Slack's webhook token,
# the Workflows `sig`); shorter ones are words like "services" that need no masking.
SECRET_PART_CHARS = 16
MASK = "***"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, repr=False)
class Payload:
    """One HTTP POST ready to send: where, the exact JSON bytes, and headers.

    `followups` are sent in order after this one succeeds (a Slack thread reply after
    the update it belongs to). The URL, headers and body may carry the credential the
    service needs, so the repr shows only the origin, header names and sizes.
    """

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    followups: tuple[Payload, ...] = ()

    def json(self) -> Any:
        """The body parsed back, for tests and checks."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        names = tuple(name for name, _ in self.headers)
        more = f", followups={len(self.followups)}" if self.followups else ""
        return f"Payload(POST {_origin(self.url)}, {len(self.body)} bytes, headers={names}{more})"


def json_payload(
    url: str,
    document: Mapping[str, Any] | Sequence[Any],
    headers: Mapping[str, str] | None = None,
    followups: tuple[Payload, ...] = (),
) -> Payload:
    """A `Payload` whose body is `document` as compact UTF-8 JSON."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    body = text.encode("utf-8")
    merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return Payload(url, body, tuple(merged.items()), followups)


@dataclass(frozen=True)
class Delivered:
    """A service accepted a payload; `ref` is its handle for later edits (Slack's ts)."""

    ref: str | None = None


class Receiver(Protocol):
    """Turns notifications into one service's requests and delivers them."""

    name: str

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """The request for `n`, a pure function of its arguments and the configuration."""
        ...

    async def send(self, payload: Payload) -> Delivered:
        """Deliver a rendered payload or raise `ReceiverError(retryable=...)`."""
        ...

    def redact(self, text: str) -> str:
        """`text` with this receiver's credentials masked, for anything shown to people."""
        ...


@runtime_checkable
class Recalls(Protocol):
    """A receiver whose service can say whether an earlier attempt of a notification
    reached it (Slack's bot keeps the notification's id in the message's metadata)."""

    async def sent_before(self, n: Notification, payload: Payload) -> Delivered | None:
        """What the service answered an earlier attempt of `n`, rendered as `payload`;
        None when it holds none. Raises `ReceiverError` when it cannot be asked."""
        ...


@runtime_checkable
class FindsMessages(Protocol):
    """A receiver that edits its group's message and can ask its service for it."""

    async def group_message(self, n: Notification) -> str | None:
        """The ref of the message an unconfirmed earlier post made for `n`'s group, for
        `n` to update instead of posting anew; None when there is none to be found."""
        ...


@dataclass(frozen=True)
class BuildContext:
    """What a receiver is built with besides its own settings."""

    name: str
    client: httpx.AsyncClient  # shared by every receiver
    out: TextIO  # standard output, for receivers that print
    # `run --json`: receivers that print write JSON lines whatever their settings ask.
    json_lines: bool = False


Settings = TypeVar("Settings", bound=BaseModel)


@dataclass(frozen=True)
class ReceiverKind(Generic[Settings]):
    """One kind of receiver: the key it is written under in the notification file, its
    settings' model, how a receiver is built from them, and the sends per second its
    service takes. Listing one in `registry.RECEIVERS` is all it takes to offer it."""

    key: str
    settings: type[Settings]
    build: Callable[[Settings, BuildContext], Receiver]
    rate: float


@dataclass(frozen=True)
class Endpoint:
    """How a receiver reaches its service: the shared client and what to mask in errors."""

    client: httpx.AsyncClient
    receiver: str
    service: str
    timeout: float
    secrets: tuple[str, ...] = field(repr=False)

    async def post(self, payload: Payload) -> httpx.Response:
        """POST one payload and return any HTTP answer; transport failures are retryable."""
        try:
            response = await self.client.post(
                payload.url,
                content=payload.body,
                headers=dict(payload.headers),
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            self._fail(f"no answer within {self.timeout:g} s ({type(exc).__name__})", True, exc)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            self._fail(f"the configured URL is unusable: {self.redact(str(exc))}", False, exc)
        except httpx.RequestError as exc:
            self._fail(f"request failed: {type(exc).__name__}: {self.redact(str(exc))}", True, exc)
        log.info(
            "receiver.answer",
            receiver=self.receiver,
            service=self.service,
            status=response.status_code,
        )
        return response

    def refused(self, response: httpx.Response, detail: str) -> ReceiverError:
        """The error for a non-success answer: 408, 429 and 5xx may pass later, others not."""
        status = response.status_code
        retryable = status in (408, 429) or status >= 500
        return self.error(
            f"HTTP {status}: {detail or '(no error text)'}",
            retryable=retryable,
            retry_after=retry_after_seconds(response.headers) if retryable else None,
        )

    def error(
        self, reason: str, *, retryable: bool, retry_after: float | None = None
    ) -> ReceiverError:
        """A `ReceiverError` naming receiver and service, with every secret masked."""
        message = f"{self.service} receiver {self.receiver!r}: {self.redact(reason)}"
        log.warning(
            "receiver.failed",
            receiver=self.receiver,
            service=self.service,
            retryable=retryable,
            retry_after=retry_after,
            error=message,
        )
        return ReceiverError(message, retryable=retryable, retry_after=retry_after)

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced by a mask, longest first."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def _fail(self, reason: str, retryable: bool, cause: Exception) -> NoReturn:
        raise self.error(reason, retryable=retryable) from cause


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a webhook URL that may be its credential: itself, its path and query,
    and each long path segment or query value."""
    parts = urlsplit(url)
    candidates = [url, parts.path, parts.query]
    candidates += parts.path.split("/")
    candidates += [value for _, value in parse_qsl(parts.query)]
    return _long_enough(candidates)


def require_header_safe(secret: str, what: str) -> None:
    """Refuse a credential that cannot go in an HTTP header, naming nothing of its value.

    httpx would otherwise raise later with the header's value in its message.
    """
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in secret):
        raise ValueError(f"the {what} holds characters that cannot go in an HTTP header")


def error_text(text: str, limit: int = ERROR_TEXT_CHARS) -> str:
    """A service's error text, stripped and cut short for a message."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """A JSON object answer, or None when the body is anything else."""
    try:
        answer = json.loads(response.content)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _long_enough(candidates: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in candidates if len(c) >= SECRET_PART_CHARS))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" if parts.scheme else host
