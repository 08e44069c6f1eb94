"""Data points as a Worker writes them, checked against AE's write limits.

A point has the shape `writeDataPoint` takes, plus the timestamp and sample interval AE
adds on its side:

    {"timestamp": "2026-10-01T12:00:00Z" | 1790000000000, "indexes": ["tenant"],
     "blobs": ["GET", "/api"], "doubles": [12.5, 200], "sample_interval": 1}

Every field is optional. A body is a JSON array of points or one point per line.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

MAX_BLOBS = 20
MAX_DOUBLES = 20
MAX_INDEX_BYTES = 96
MAX_BLOB_BYTES = 16 * 1024  # per point, all blobs together (raised from 5120 in 2025)
MAX_SAMPLE_INTERVAL = 2**32 - 1  # the column is a UInt32

_FIELDS = frozenset({"timestamp", "indexes", "blobs", "doubles", "sample_interval"})
# The range a ClickHouse DateTime can hold.
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2106, 2, 7, tzinfo=dt.UTC)


class PointError(Exception):
    """A written body is malformed; the message names the point (1-based) and the field."""


@dataclass(frozen=True)
class Point:
    """One row of a dataset; `timestamp` is aware, in UTC and whole seconds."""

    timestamp: dt.datetime
    index: str = ""
    blobs: tuple[str, ...] = ()
    doubles: tuple[float, ...] = ()
    sample_interval: int = 1


@dataclass(frozen=True)
class Batch:
    """The points to record, and how many AE would silently drop (more than one index)."""

    points: tuple[Point, ...]
    dropped: int


def parse_points(body: bytes, now: dt.datetime) -> Batch:
    """Parse a JSON array or JSON lines of points; `now` stamps points that carry no time."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        raise PointError("the body is not UTF-8") from error
    points: list[Point] = []
    dropped = 0
    for number, raw in enumerate(_documents(text), start=1):
        point = _point(number, raw, now)
        if point is None:
            dropped += 1
        else:
            points.append(point)
    return Batch(tuple(points), dropped)


def _documents(text: str) -> list[object]:
    if not text:
        return []
    if text.startswith("["):
        try:
            documents = json.loads(text)
        except json.JSONDecodeError as error:
            raise PointError(f"the body is not valid JSON: {error.msg}") from error
        if not isinstance(documents, list):
            raise PointError("the body must be a JSON array or JSON lines")
        return documents
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise PointError(f"line {number} is not valid JSON: {error.msg}") from error
    return documents


def _point(number: int, raw: object, now: dt.datetime) -> Point | None:
    """The point, or None when AE would not record it."""
    where = f"point {number}"
    if not isinstance(raw, Mapping):
        raise PointError(f"{where}: must be a JSON object")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise PointError(f"{where}: unknown field {unknown[0]!r}")
    indexes = _strings(raw.get("indexes", []), f"{where}: indexes", limit=None)
    for position, index in enumerate(indexes):
        if len(index.encode()) > MAX_INDEX_BYTES:
            raise PointError(f"{where}: indexes[{position}]: longer than {MAX_INDEX_BYTES} bytes")
    blobs = _strings(raw.get("blobs", []), f"{where}: blobs", limit=MAX_BLOBS)
    if sum(len(blob.encode()) for blob in blobs) > MAX_BLOB_BYTES:
        raise PointError(f"{where}: blobs: more than {MAX_BLOB_BYTES} bytes in total")
    doubles = _doubles(raw.get("doubles", []), f"{where}: doubles")
    timestamp = _timestamp(raw.get("timestamp"), f"{where}: timestamp", now)
    interval = _sample_interval(raw.get("sample_interval", 1), f"{where}: sample_interval")
    if len(indexes) > 1:
        return None  # AE records no point written with more than one index
    return Point(timestamp, indexes[0] if indexes else "", blobs, doubles, interval)


def _strings(value: object, where: str, *, limit: int | None) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise PointError(f"{where}: must be an array")
    if limit is not None and len(value) > limit:
        raise PointError(f"{where}: at most {limit} values, got {len(value)}")
    result = []
    for position, item in enumerate(value):
        if item is None:
            item = ""  # a Worker may pass null, which AE stores as an empty string
        if not isinstance(item, str):
            raise PointError(f"{where}[{position}]: must be a string")
        result.append(item)
    return tuple(result)


def _doubles(value: object, where: str) -> tuple[float, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise PointError(f"{where}: must be an array")
    if len(value) > MAX_DOUBLES:
        raise PointError(f"{where}: at most {MAX_DOUBLES} values, got {len(value)}")
    result = []
    for position, item in enumerate(value):
        if not _is_number(item) or not math.isfinite(item):
            raise PointError(f"{where}[{position}]: must be a finite number")
        result.append(float(item))
    return tuple(result)


def _timestamp(value: object, where: str, now: dt.datetime) -> dt.datetime:
    if value is None:
        moment = now
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError as error:
            raise PointError(f"{where}: not an ISO-8601 date and time: {value!r}") from error
    elif _is_number(value) and math.isfinite(value):
        if not _EARLIEST.timestamp() * 1000 <= value < _LATEST.timestamp() * 1000:
            raise PointError(f"{where}: {value} ms is outside {_EARLIEST:%Y}-{_LATEST:%Y}")
        moment = _EARLIEST + dt.timedelta(milliseconds=value)
    else:
        raise PointError(f"{where}: must be an ISO-8601 string or epoch milliseconds")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # AE's time zone is UTC, so is a naive time
    moment = moment.astimezone(dt.UTC).replace(microsecond=0)
    if not _EARLIEST <= moment < _LATEST:
        raise PointError(f"{where}: {moment.isoformat()} is outside {_EARLIEST:%Y}-{_LATEST:%Y}")
    return moment


def _sample_interval(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PointError(f"{where}: must be an integer")
    if not 1 <= value <= MAX_SAMPLE_INTERVAL:
        raise PointError(f"{where}: must be between 1 and {MAX_SAMPLE_INTERVAL}")
    return value


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
