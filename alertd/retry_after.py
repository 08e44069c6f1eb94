"""The `Retry-After` header, read the same way for every service we call."""

from __future__ import annotations

import datetime as dt
import email.utils
import math

import httpx

RETRY_AFTER_CAP_SECONDS = 300.0


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds, capped; None if absent or bad.

    An HTTP-date is measured against the answer's own `Date` header, so neither our clock
    nor its skew against Cloudflare's enters the result.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds: float | None = float(value.strip())
    except ValueError:
        seconds = _seconds_between(headers.get("date"), value)
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


def _seconds_between(start: str | None, end: str) -> float | None:
    if start is None:
        return None
    try:
        begin, finish = _http_date(start), _http_date(end)
    except (TypeError, ValueError):
        return None
    return (finish - begin).total_seconds()


def _http_date(text: str) -> dt.datetime:
    moment = email.utils.parsedate_to_datetime(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
