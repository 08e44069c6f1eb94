"""Times and durations given on the command line, refused with a message naming the option."""

from __future__ import annotations

import datetime as dt

from alertd.rules.build import MAX_WINDOW
from alertd.rules.durations import parse_duration

ONE_SECOND = dt.timedelta(seconds=1)


class UsageError(ValueError):
    """A command-line value that cannot be used; the message names the option."""


def parse_time(text: str) -> dt.datetime:
    """An ISO-8601 time; without a zone it is UTC. Raises ValueError."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def time_option(flag: str, text: str) -> dt.datetime:
    """The time `flag` was given, or a UsageError saying what a time looks like."""
    try:
        return parse_time(text)
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not an ISO-8601 time, e.g. 2026-01-31T18:00Z (UTC if no zone)"
        ) from None


def optional_time(flag: str, text: str | None) -> dt.datetime | None:
    return None if text is None else time_option(flag, text)


def seconds_option(flag: str, text: str, *, longest: dt.timedelta = MAX_WINDOW) -> dt.timedelta:
    """A duration of whole seconds, at least 1s, as rule windows and intervals are."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if value < ONE_SECOND or value.total_seconds() % 1:
        raise UsageError(f"{flag} must be a whole number of seconds, at least 1s (not {text!r})")
    if value > longest:
        raise UsageError(f"{flag} must be at most {longest.days}d (not {text!r})")
    return value
