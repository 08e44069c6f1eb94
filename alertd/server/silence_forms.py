"""The status page's silence forms: read a submitted form, check its token, make the change.

Forms post `application/x-www-form-urlencoded` bodies, read here with the standard library.
Every change needs the API's bearer token in the form's `token` field; without a configured
token, changes are off.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from alertd.notify.matchers import Matcher, MatcherError, parse_matchers
from alertd.notify.silences import SilenceError, new_silence, to_record
from alertd.rules.durations import parse_duration
from alertd.store.base import Silences

MAX_FORM_BYTES = 64 * 1024


class FormError(ValueError):
    """A form cannot be carried out; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def read_form(body: bytes) -> dict[str, str]:
    """A urlencoded body as one value per field (the first, when a field repeats)."""
    if len(body) > MAX_FORM_BYTES:
        raise FormError(f"the form is larger than {MAX_FORM_BYTES} bytes", 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("the form is not UTF-8") from None
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}


def check_token(form: Mapping[str, str], api_token: str | None) -> None:
    """Raise FormError (403) unless the form carries the configured API token."""
    if not api_token:
        raise FormError("changes are off: no API token is configured", 403)
    given = form.get("token", "")
    if not hmac.compare_digest(given.encode(), api_token.encode()):
        raise FormError("the API token is wrong", 403)


def local_path(text: str | None, default: str = "/") -> str:
    """Where to go after a change: a path on this server, never another site."""
    # Browsers drop tabs and newlines from URLs and read a backslash as a slash, so those
    # would turn a path into `//host` as surely as writing it.
    if not text or not text.startswith("/") or any(c <= " " or c == "\\" for c in text):
        return default
    return default if text.startswith("//") else text


@dataclass(frozen=True)
class SilenceForm:
    matchers: str = ""
    duration: str = "2h"
    created_by: str = ""
    comment: str = ""
    next: str = "/"

    @classmethod
    def of(cls, form: Mapping[str, str]) -> SilenceForm:
        return cls(
            matchers=form.get("matchers", ""),
            duration=form.get("duration", "2h"),
            created_by=form.get("created_by", ""),
            comment=form.get("comment", ""),
            next=local_path(form.get("next")),
        )


async def create_silence(store: Silences, form: SilenceForm, now: dt.datetime) -> str:
    """Store the silence the form asks for; its id. FormError says what is wrong."""
    problems = []
    matchers: tuple[Matcher, ...] = ()
    try:
        matchers = parse_matchers(form.matchers)
    except MatcherError as exc:
        problems.append(f"matchers: {exc.message}")
    duration = dt.timedelta(0)
    try:
        duration = parse_duration(form.duration)
    except ValueError as exc:
        problems.append(f"duration: {exc}")
    if problems:
        raise FormError("; ".join(problems))
    try:
        silence = new_silence(
            secrets.token_hex(8),
            matchers,
            now,
            now + duration,
            form.created_by.strip(),
            form.comment.strip(),
            now,
        )
    except SilenceError as exc:
        raise FormError(str(exc)) from None
    await store.add_silence(to_record(silence))
    return silence.id


async def expire_silence(store: Silences, silence_id: str, now: dt.datetime) -> None:
    if not await store.expire_silence(silence_id, now):
        raise FormError(f"no silence {silence_id}", 404)
