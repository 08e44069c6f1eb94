import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.emulator.points import Point, PointError, parse_points

NOW = dt.datetime(2026, 11, 28, 10, 0, 0, tzinfo=dt.UTC)


def parse(*points: object) -> list[Point]:
    return list(parse_points(json.dumps(list(points)).encode(), NOW).points)


def test_a_full_point_is_read_field_by_field() -> None:
    (point,) = parse(
        {
            "timestamp": "2026-11-28T09:59:00Z",
            "indexes": ["tenant-1"],
            "blobs": ["GET", "/api"],
            "doubles": [12.5, 200],
            "sample_interval": 10,
        }
    )
    assert point == Point(
        timestamp=dt.datetime(2026, 11, 28, 9, 59, tzinfo=dt.UTC),
        index="tenant-1",
        blobs=("GET", "/api"),
        doubles=(12.5, 200.0),
        sample_interval=10,
    )


def test_an_empty_point_takes_the_clock_time_and_defaults() -> None:
    assert parse({}) == [Point(timestamp=NOW)]


def test_json_lines_and_a_json_array_read_the_same() -> None:
    points = [{"blobs": ["a"]}, {"doubles": [1]}, {"indexes": ["x"]}]
    lines = "\n".join(json.dumps(p) for p in points) + "\n\n"
    from_lines = parse_points(lines.encode(), NOW)
    assert from_lines.points == tuple(parse(*points))
    assert len(from_lines.points) == 3


def test_an_empty_body_holds_no_points() -> None:
    batch = parse_points(b"  \n", NOW)
    assert (batch.points, batch.dropped) == ((), 0)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-11-28T09:00:00Z", dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
        ("2026-11-28T04:00:00-05:00", dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
        ("2026-11-28 09:00:00", dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
        ("2026-11-28T09:00:00.999+00:00", dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
        (1_795_856_400_000, dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
        (1_795_856_400_999.5, dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
        (0, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_timestamps_are_read_as_utc_whole_seconds(written: object, expected: dt.datetime) -> None:
    (point,) = parse({"timestamp": written})
    assert point.timestamp == expected
    assert point.timestamp.utcoffset() == dt.timedelta(0)


def test_a_point_with_more_than_one_index_is_dropped_and_counted() -> None:
    body = json.dumps([{"indexes": ["a", "b"]}, {"indexes": ["c"]}, {"indexes": ["d", "e"]}])
    batch = parse_points(body.encode(), NOW)
    assert [p.index for p in batch.points] == ["c"]
    assert batch.dropped == 2


def test_null_blobs_and_index_are_stored_as_empty_strings() -> None:
    (point,) = parse({"indexes": [None], "blobs": ["a", None, "c"]})
    assert point.index == ""
    assert point.blobs == ("a", "", "c")


def test_the_limits_themselves_are_accepted() -> None:
    (point,) = parse(
        {
            "indexes": ["i" * 96],
            "blobs": ["b" * 800] * 20,
            "doubles": [1.0] * 20,
            "sample_interval": 2**32 - 1,
        }
    )
    assert len(point.blobs) == len(point.doubles) == 20


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ([1], "point 1: must be a JSON object"),
        ({"blob": ["a"]}, "point 1: unknown field 'blob'"),
        ({"indexes": "a"}, "point 1: indexes: must be an array"),
        ({"indexes": ["é" * 49]}, "point 1: indexes[0]: longer than 96 bytes"),
        ({"indexes": [1]}, "point 1: indexes[0]: must be a string"),
        ({"blobs": ["a"] * 21}, "point 1: blobs: at most 20 values, got 21"),
        ({"blobs": ["a", 2]}, "point 1: blobs[1]: must be a string"),
        ({"blobs": ["x" * 9000, "y" * 9000]}, "point 1: blobs: more than 16384 bytes"),
        ({"doubles": [1.0] * 21}, "point 1: doubles: at most 20 values, got 21"),
        ({"doubles": ["1"]}, "point 1: doubles[0]: must be a finite number"),
        ({"doubles": [True]}, "point 1: doubles[0]: must be a finite number"),
        ({"doubles": [None]}, "point 1: doubles[0]: must be a finite number"),
        ({"sample_interval": 0}, "point 1: sample_interval: must be between 1 and"),
        ({"sample_interval": 2**32}, "point 1: sample_interval: must be between 1 and"),
        ({"sample_interval": 1.5}, "point 1: sample_interval: must be an integer"),
        ({"sample_interval": True}, "point 1: sample_interval: must be an integer"),
        ({"timestamp": "yesterday"}, "point 1: timestamp: not an ISO-8601"),
        ({"timestamp": True}, "point 1: timestamp: must be an ISO-8601 string or epoch"),
        ({"timestamp": -1}, "point 1: timestamp: -1 ms is outside 1970-2106"),
        ({"timestamp": "1969-12-31T23:59:59Z"}, "point 1: timestamp: 1969-12-31T23:59:59"),
        ({"timestamp": "2200-01-01T00:00:00Z"}, "point 1: timestamp: 2200-01-01T00:00:00"),
    ],
)
def test_a_bad_point_is_refused_naming_the_point_and_the_field(point: object, message: str) -> None:
    with pytest.raises(PointError) as refused:
        parse(point)
    assert message in str(refused.value)


def test_the_point_number_counts_from_one_across_the_body() -> None:
    with pytest.raises(PointError, match=r"^point 3: doubles\[0\]"):
        parse({}, {}, {"doubles": ["x"]})


def test_a_non_finite_double_is_refused() -> None:
    with pytest.raises(PointError, match=r"point 1: doubles\[0\]: must be a finite number"):
        parse_points(b'[{"doubles": [NaN]}]', NOW)


def test_a_bad_json_line_is_refused_naming_the_line() -> None:
    with pytest.raises(PointError, match="line 2 is not valid JSON"):
        parse_points(b'{"blobs": ["a"]}\n{"blobs": [\n', NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[{]", "the body is not valid JSON"),
        (b"\xff\xfe", "the body is not UTF-8"),
        (b'"text"', "point 1: must be a JSON object"),
    ],
)
def test_a_malformed_body_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(PointError, match=message):
        parse_points(body, NOW)


@given(
    millis=st.integers(min_value=0, max_value=4_000_000_000_000),
    blobs=st.lists(st.text(max_size=40), max_size=20),
    doubles=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20),
    interval=st.integers(min_value=1, max_value=2**32 - 1),
)
def test_any_valid_point_reads_back_unchanged(
    millis: int, blobs: list[str], doubles: list[float], interval: int
) -> None:
    written = {"timestamp": millis, "blobs": blobs, "doubles": doubles, "sample_interval": interval}
    (point,) = parse(written)
    assert point.timestamp == dt.datetime.fromtimestamp(millis // 1000, dt.UTC)
    assert point.blobs == tuple(blobs)
    assert point.doubles == tuple(doubles)
    assert point.sample_interval == interval
