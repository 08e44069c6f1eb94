"""Durations as rule files write them: `30s`, `5m`, `1h30m`, `2d`."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# No setting of alertd means more than a year; past it, a typo would overflow a timer.
LONGEST = dt.timedelta(days=365)


def parse_duration(text: object, longest: dt.timedelta = LONGEST) -> dt.timedelta:
    """Parse `1h30m`-style text (a bare number means seconds); raise ValueError if invalid
    or longer than `longest`."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(text, int | float):
        if not math.isfinite(text):
            raise ValueError("expected a duration such as 30s, 5m or 1h")
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return _bounded(text, longest)
    stripped = text.strip()
    position = 0
    seconds = 0.0
    for match in _PART.finditer(stripped):
        if match.start() != position:
            break
        # Digits past a year's worth in any unit need not be converted to know they are too many.
        digits = match.group(1).lstrip("0")[:16] or "0"
        seconds += int(digits) * _UNITS[match.group(2)]
        position = match.end()
    if not stripped or position != len(stripped):
        raise ValueError(
            f"invalid duration {text!r}: expected e.g. 30s, 5m, 1h30m (units ms s m h d w)"
        )
    return _bounded(seconds, longest)


def _bounded(seconds: float, longest: dt.timedelta) -> dt.timedelta:
    if seconds > longest.total_seconds():
        raise ValueError(f"must be at most {format_duration(longest)}")
    return dt.timedelta(seconds=seconds)


def duration_at_most(longest: dt.timedelta) -> Callable[[object], dt.timedelta]:
    """A validator parsing a duration no longer than `longest`; the error names the bound."""
    return functools.partial(parse_duration, longest=longest)


def format_duration(value: dt.timedelta) -> str:
    """The shortest `1h30m`-style text for a duration (whole seconds)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
