"""Alertmanager's time intervals: when a route is muted, or when it is active.

An interval holds when every field it sets holds (an interval that sets nothing always
holds); a named list of intervals holds when any of them does. Fields are judged on the
wall clock of the interval's `location` (UTC unless set), so `times` follow daylight saving
time: on the night clocks go forward, a `02:00`–`03:00` range in Europe/Berlin never holds,
and on the night they go back it holds for two hours.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = tuple(name.lower() for name in calendar.month_name[1:])
_CLOCK = re.compile(r"(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))")

Range = tuple[int, int]
T = TypeVar("T")


@dataclass(frozen=True)
class TimeRange:
    """Minutes since local midnight: `start` included, `end` excluded (1440 is 24:00)."""

    start: int
    end: int


@dataclass(frozen=True)
class TimeInterval:
    """One interval; an empty field places no condition. Ranges include both ends."""

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[Range, ...] = ()  # 0 = Monday, as datetime.weekday(); may wrap past Sunday
    days_of_month: tuple[Range, ...] = ()  # negative counts from the month's end: -1 is the last
    months: tuple[Range, ...] = ()  # 1 = January
    years: tuple[Range, ...] = ()
    location: ZoneInfo | None = None

    def contains(self, at: dt.datetime) -> bool:
        """Whether the instant `at` (timezone-aware) falls inside this interval."""
        if at.tzinfo is None:
            raise ValueError("time intervals need a timezone-aware datetime")
        local = at.astimezone(self.location or dt.UTC)
        minute = local.hour * 60 + local.minute
        return (
            _any_or_empty(self.times, lambda r: r.start <= minute < r.end)
            and _any_or_empty(self.weekdays, lambda r: _weekday_in(r, local.weekday()))
            and _any_or_empty(self.days_of_month, lambda r: _day_in(r, local))
            and _any_or_empty(self.months, lambda r: r[0] <= local.month <= r[1])
            and _any_or_empty(self.years, lambda r: r[0] <= local.year <= r[1])
        )


def active(intervals: Iterable[TimeInterval], at: dt.datetime) -> bool:
    """Whether any of the intervals holds at `at`."""
    return any(interval.contains(at) for interval in intervals)


def muted(
    mute: Iterable[str],
    active_in: Iterable[str],
    definitions: Mapping[str, tuple[TimeInterval, ...]],
    at: dt.datetime,
) -> bool:
    """Whether a route with these mute and active interval names stays quiet at `at`.

    Muted while any mute interval holds; when active intervals are named, also muted
    whenever none of them holds.
    """
    if any(active(definitions[name], at) for name in mute):
        return True
    names = tuple(active_in)
    return bool(names) and not any(active(definitions[name], at) for name in names)


def parse_time_range(start: str, end: str) -> TimeRange:
    """`22:00`–`24:00`: the end must come after the start, on the same day."""
    first, last = parse_clock(start), parse_clock(end)
    if first == 24 * 60:
        raise ValueError("start_time cannot be 24:00")
    if last <= first:
        raise ValueError(
            f"end_time {end} is not after start_time {start}; a range cannot cross "
            "midnight, so split it into two (…–24:00 and 00:00–…)"
        )
    return TimeRange(first, last)


def parse_clock(text: str) -> int:
    """`HH:MM` (00:00 to 24:00) as minutes since midnight."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid time {text!r}: expected HH:MM between 00:00 and 24:00")
    hours, minutes = (match[1], match[2]) if match[1] else (match[3], match[4])
    return int(hours) * 60 + int(minutes)


def parse_weekdays(text: str) -> Range:
    """`monday:friday`, `saturday` or `saturday:sunday` as weekday numbers (Monday is 0).

    A range may wrap past the end of the week (`friday:monday`), so configurations that
    start the week on Sunday (`sunday:saturday`) mean what they say.
    """
    return _split(text, lambda part: _named(part, WEEKDAYS, "weekday", 0))


def parse_months(text: str) -> Range:
    """`january:march`, `3:5` or `december` as month numbers."""
    return _range(text, "month", _month)


def parse_years(text: str) -> Range:
    """`2025:2026` or `2025`."""
    return _range(text, "year", lambda part: _number(part, "year", 1, 9999))


def parse_days_of_month(text: str) -> Range:
    """`1:5`, `-3:-1`, `25:-1` or `-1`; negative days count back from the month's last day."""
    first, last = _split(text, _day)
    if first < 0 < last:
        raise ValueError(f"{text!r}: when the start day is negative the end day must be too")
    # Months have at least 28 days, so this rejects the ranges that are empty in every month.
    if (first if first > 0 else 29 + first) > (last if last > 0 else 29 + last):
        raise ValueError(f"{text!r}: end day is before the start day")
    return first, last


def parse_location(name: str) -> ZoneInfo:
    """An IANA time zone such as `Europe/Berlin` (not the host's own zone, for repeatability)."""
    if name.lower() == "local":
        raise ValueError("location 'Local' depends on the host; name the zone, e.g. Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _any_or_empty(ranges: tuple[T, ...], holds: Callable[[T], bool]) -> bool:
    return not ranges or any(holds(r) for r in ranges)


def _weekday_in(days: Range, weekday: int) -> bool:
    first, last = days
    return first <= weekday <= last if first <= last else weekday >= first or weekday <= last


def _day_in(days: Range, local: dt.datetime) -> bool:
    length = calendar.monthrange(local.year, local.month)[1]
    first = days[0] if days[0] > 0 else length + days[0] + 1
    last = days[1] if days[1] > 0 else length + days[1] + 1
    if first > length:
        return False  # the 31st in a 30-day month never happens
    return max(first, 1) <= local.day <= min(last, length)


def _range(text: str, what: str, parse: Callable[[str], int]) -> Range:
    first, last = _split(text, parse)
    if first > last:
        raise ValueError(f"{text!r}: the end {what} comes before the start {what}")
    return first, last


def _split(text: str, parse: Callable[[str], int]) -> Range:
    if not isinstance(text, str | int) or isinstance(text, bool):
        raise ValueError("expected text such as 'monday:friday'")
    parts = str(text).split(":")
    if len(parts) > 2:
        raise ValueError(f"{text!r}: a range has one colon, e.g. 1:5")
    values = [parse(part.strip()) for part in parts]
    return values[0], values[-1]


def _named(part: str, names: tuple[str, ...], what: str, base: int) -> int:
    try:
        return names.index(part.lower()) + base
    except ValueError:
        raise ValueError(f"unknown {what} {part!r}: expected one of {', '.join(names)}") from None


def _month(part: str) -> int:
    if part.isdigit():
        return _number(part, "month", 1, 12)
    return _named(part, MONTHS, "month", 1)


def _day(part: str) -> int:
    day = _number(part, "day of month", -31, 31)
    if day == 0:
        raise ValueError("day of month 0 does not exist: use 1 to 31, or -1 for the last day")
    return day


def _number(part: str, what: str, low: int, high: int) -> int:
    try:
        value = int(part)
    except ValueError:
        raise ValueError(f"invalid {what} {part!r}") from None
    if not low <= value <= high:
        # YAML 1.1 reads an unquoted range such as 1:5 as the base-60 number 65.
        read_as_number = value >= 60 > high
        hint = "; quote ranges such as '1:5', which YAML reads as numbers" if read_as_number else ""
        raise ValueError(f"{what} {value} is out of range ({low} to {high}){hint}")
    return value
