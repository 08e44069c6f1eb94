"""Parsing AE `FORMAT JSON` answers into typed rows."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.errors import SourceError
from alertd.model import Column
from alertd.sources.ae_rows import parse

UTC = dt.UTC


def answer(meta: list[tuple[str, str]], data: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"meta": [{"name": n, "type": t} for n, t in meta], "data": data, "rows": len(data)}
    )


def one_cell(type_name: str, value: Any) -> Any:
    return parse(answer([("x", type_name)], [{"x": value}])).data[0]["x"]


def test_columns_keep_names_and_types_in_meta_order() -> None:
    rows = parse(answer([("route", "String"), ("hits", "UInt64")], []))
    assert rows.columns == (Column("route", "String"), Column("hits", "UInt64"))
    assert rows.data == ()


def test_documented_example_answer_is_parsed() -> None:
    body = (
        '{"meta":[{"name":"blob1","type":"String"},{"name":"count()","type":"UInt64"}],'
        '"data":[{"blob1":"US","count()":1523}],"rows":1}'
    )
    assert parse(body).data == ({"blob1": "US", "count()": 1523},)


def test_bytes_body_is_accepted() -> None:
    body = answer([("n", "Int32")], [{"n": 1}]).encode()
    assert parse(body).data == ({"n": 1},)


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("UInt64", "18446744073709551615", 18446744073709551615),
        ("UInt64", 42, 42),
        ("Int64", "-7", -7),
        ("Int8", 3, 3),
        ("UInt256", "123", 123),
        ("Nullable(Int32)", "5", 5),
        ("LowCardinality(Nullable(UInt16))", 9, 9),
    ],
)
def test_integers_convert_from_numbers_and_quoted_strings(
    type_name: str, value: Any, expected: int
) -> None:
    cell = one_cell(type_name, value)
    assert cell == expected
    assert type(cell) is int


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("Float64", "0.25", 0.25),
        ("Float64", 1.5, 1.5),
        ("Float64", 3, 3.0),
        ("Float32", "1e3", 1000.0),
        ("Float64", "inf", math.inf),
        ("Float64", "-inf", -math.inf),
    ],
)
def test_floats_convert_from_numbers_and_quoted_strings(
    type_name: str, value: Any, expected: float
) -> None:
    cell = one_cell(type_name, value)
    assert cell == expected
    assert type(cell) is float


@pytest.mark.parametrize("value", ["nan", None])
def test_float_nan_arrives_quoted_or_as_null(value: Any) -> None:
    assert math.isnan(one_cell("Float64", value))


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("String", "checkout", "checkout"),
        ("LowCardinality(String)", "eu", "eu"),
        ("FixedString(4)", "ab\u0000\u0000", "ab"),
        ("String", "", ""),
    ],
)
def test_strings_stay_strings(type_name: str, value: str, expected: str) -> None:
    assert one_cell(type_name, value) == expected


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("DateTime", "2026-10-01 12:05:00", dt.datetime(2026, 10, 1, 12, 5, tzinfo=UTC)),
        ("DateTime('UTC')", "2026-10-01 12:05:00", dt.datetime(2026, 10, 1, 12, 5, tzinfo=UTC)),
        (
            "DateTime64(3, 'Etc/UTC')",
            "2026-10-01 12:05:00.250",
            dt.datetime(2026, 10, 1, 12, 5, 0, 250000, tzinfo=UTC),
        ),
        # Paris is UTC+2 in summer time: the wall time is read in the column's zone.
        (
            "DateTime('Europe/Paris')",
            "2026-07-01 14:00:00",
            dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
        ),
    ],
)
def test_datetimes_become_aware_utc(type_name: str, value: str, expected: dt.datetime) -> None:
    cell = one_cell(type_name, value)
    assert cell == expected
    assert cell.tzinfo == UTC


def test_unknown_types_are_left_as_they_came() -> None:
    assert one_cell("Date", "2026-10-01") == "2026-10-01"
    assert one_cell("Decimal(9, 2)", 1.25) == 1.25
    assert one_cell("Array(String)", ["a", "b"]) == '["a","b"]'


@pytest.mark.parametrize(
    "body",
    [
        "Gateway Timeout",
        "",
        "[1, 2]",
        '{"data": []}',
        '{"meta": []}',
        '{"meta": {}, "data": []}',
        '{"meta": [{"name": "x"}], "data": []}',
        '{"meta": [{"name": "x", "type": "UInt64"}], "data": [[1]]}',
        '{"meta": [{"name": "x", "type": "UInt64"}], "data": [{"y": 1}]}',
    ],
)
def test_garbage_is_a_retryable_source_error(body: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(body)
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("UInt64", "12abc"),
        ("UInt64", 1.5),
        ("UInt64", True),
        ("Int64", None),
        ("Float64", "fast"),
        ("Float64", [1]),
        ("String", 7),
        ("DateTime", "yesterday"),
        ("DateTime", 1700000000),
        ("Bool", None),
        ("DateTime('Not/AZone')", "2026-10-01 12:05:00"),
    ],
)
def test_cell_that_does_not_convert_names_the_column(type_name: str, value: Any) -> None:
    with pytest.raises(SourceError, match="'x'") as caught:
        one_cell(type_name, value)
    assert caught.value.retryable is True


def test_garbage_message_quotes_only_the_start_of_the_body() -> None:
    body = "<html>" + "x" * 5000
    with pytest.raises(SourceError) as caught:
        parse(body)
    assert "<html>xxx" in caught.value.message
    assert len(caught.value.message) < 300


@given(st.integers(min_value=-(2**63), max_value=2**64 - 1), st.booleans())
def test_any_64_bit_integer_survives_either_encoding(number: int, quoted: bool) -> None:
    assert one_cell("Int64", str(number) if quoted else number) == number


@given(st.floats(allow_nan=False), st.booleans())
def test_any_float_survives_either_encoding(number: float, quoted: bool) -> None:
    assert one_cell("Float64", repr(number) if quoted else number) == number
