"""Turn an Analytics Engine `FORMAT JSON` answer into typed `Rows`. Pure.

AE (like ClickHouse) may quote 64-bit integers and floats as JSON strings, so every cell
is converted by its column's `meta` type rather than by the JSON type it arrived as.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from alertd.errors import SourceError
from alertd.model import Cell, Column, Rows

EXCERPT_CHARS = 200

_WRAPPER = re.compile(r"^(?:Nullable|LowCardinality)\((.*)\)$")
_INT_TYPE = re.compile(r"^U?Int(?:8|16|32|64|128|256)$")
_FLOAT_TYPE = re.compile(r"^Float(?:32|64)$")
_FIXED_STRING_TYPE = re.compile(r"^FixedString\(\d+\)$")
# DateTime, DateTime('UTC'), DateTime64(3), DateTime64(3, 'Europe/Paris')
_DATETIME_TYPE = re.compile(r"^DateTime(?:64)?(?:\((?:\d+)?(?:\s*,\s*)?(?:'([^']+)')?\))?$")
_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_UTC_NAMES = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu", "UCT"}


class _CellError(ValueError):
    """A cell does not fit its column type; caught and reported with the body excerpt."""


def parse(body: str | bytes) -> Rows:
    """Parse a `FORMAT JSON` answer into `Rows`, or raise a retryable `SourceError`."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _garbage("is not JSON", body) from exc
    if not isinstance(document, dict):
        raise _garbage("is not a JSON object", body)
    meta, data = document.get("meta"), document.get("data")
    if not isinstance(meta, list) or not isinstance(data, list):
        raise _garbage("lacks a `meta` or `data` list", body)
    columns = _columns(meta, body)
    converters = []
    for column in columns:
        try:
            converters.append((column.name, _converter(column.type)))
        except _CellError as exc:
            raise _garbage(f"has column {column.name!r} that cannot be read: {exc}", body) from exc
    rows: list[Mapping[str, Cell]] = []
    for index, record in enumerate(data):
        try:
            rows.append({name: convert(record[name]) for name, convert in converters})
        except (TypeError, KeyError, _CellError):
            # Read again cell by cell, for the message that says what is wrong.
            if not isinstance(record, dict):
                raise _garbage(f"has a row {index} that is not an object", body) from None
            rows.append(_row(index, record, converters, body))
    return Rows(columns=tuple(columns), data=tuple(rows))


def is_number_type(type_name: str) -> bool:
    """Whether a `meta` type holds numbers, which its cells are then converted to."""
    base = _unwrap(type_name)
    return bool(_INT_TYPE.match(base) or _FLOAT_TYPE.match(base))


def excerpt(body: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` characters of a body, decoded leniently, for error messages."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return text if len(text) <= limit else text[:limit] + "…"


def _columns(meta: list[Any], body: str | bytes) -> list[Column]:
    columns = []
    for entry in meta:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("type"), str)
        ):
            raise _garbage("has a `meta` entry without a string name and type", body)
        columns.append(Column(name=entry["name"], type=entry["type"]))
    return columns


def _row(
    index: int,
    record: dict[str, Any],
    converters: list[tuple[str, Callable[[Any], Cell]]],
    body: str | bytes,
) -> dict[str, Cell]:
    row: dict[str, Cell] = {}
    for name, convert in converters:
        if name not in record:
            raise _garbage(f"has row {index} without column {name!r}", body)
        try:
            row[name] = convert(record[name])
        except _CellError as exc:
            raise _garbage(f"has row {index} column {name!r}: {exc}", body) from exc
    return row


def _converter(type_name: str) -> Callable[[Any], Cell]:
    """The function that turns a raw JSON cell of `type_name` into a Python value."""
    base = _unwrap(type_name)
    if _INT_TYPE.match(base):
        return _to_int
    if _FLOAT_TYPE.match(base):
        return _to_float
    if base == "String":
        return _to_str
    if _FIXED_STRING_TYPE.match(base):
        return _unpadded
    match = _DATETIME_TYPE.match(base)
    if match:
        return _datetime_converter(match.group(1))
    return _as_is


def _unwrap(type_name: str) -> str:
    base = type_name.strip()
    while match := _WRAPPER.match(base):
        base = match.group(1).strip()
    return base


def _to_int(value: Any) -> int:
    # AE quotes 64-bit integers: plain ASCII digits are the usual cell.
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.match(value):
        return int(value)
    raise _CellError(f"{_show(value)} is not an integer")


def _to_float(value: Any) -> float:
    # ClickHouse writes nan and ±inf as JSON null unless told to quote them; nan is the
    # only honest reading of a null here, since AE itself has no NULL.
    if value is None:
        return math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _CellError(f"{_show(value)} is not a number")


def _to_str(value: Any) -> str:
    # Kept exactly, NULs included: two blobs that differ in any character are two series.
    if isinstance(value, str):
        return value
    raise _CellError(f"{_show(value)} is not a string")


def _unpadded(value: Any) -> str:
    # FixedString(N) pads with NUL bytes, which would make two equal labels differ.
    return _to_str(value).rstrip("\x00")


def _datetime_converter(zone_name: str | None) -> Callable[[Any], dt.datetime]:
    """Parse 'YYYY-MM-DD hh:mm:ss[.fff]' written in the column's zone, returned in UTC."""
    zone = _zone(zone_name)

    def convert(value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise _CellError(f"{_show(value)} is not a date-time string")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise _CellError(f"{_show(value)} is not a date-time") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(dt.UTC)

    return convert


def _zone(name: str | None) -> dt.tzinfo:
    if name is None or name in _UTC_NAMES:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # An unknown zone must not silently shift every timestamp; AE defaults to UTC and
        # this only happens if a query asks for a zone this host cannot resolve.
        raise _CellError(f"time zone {name!r} is unknown on this host") from None


def _as_is(value: Any) -> Cell:
    """Keep scalars of types we do not convert; composite values travel as JSON text."""
    if isinstance(value, str | int | float):
        return value
    if value is None:
        raise _CellError("null where AE has no NULL")
    return json.dumps(value, separators=(",", ":"))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _garbage(problem: str, body: str | bytes) -> SourceError:
    return SourceError(
        f"AE answer {problem}; it starts: {excerpt(body)!r}",
        retryable=True,
    )
