"""Durations as rule files write them: `30s`, `5m`, `1h30m`, `2d`."""

from __future__ import annotations

import datetime as dt
import re

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> dt.timedelta:
    """Parse `1h30m`-style text (a bare number means seconds); raise ValueError if invalid."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return dt.timedelta(seconds=text)
    stripped = text.strip()
    position = 0
    seconds = 0.0
    for match in _PART.finditer(stripped):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not stripped or position != len(stripped):
        raise ValueError(
            f"invalid duration {text!r}: expected e.g. 30s, 5m, 1h30m (units ms s m h d w)"
        )
    return dt.timedelta(seconds=seconds)


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
