"""The emulator's ingest delay: rows become visible to SQL only after their own delay."""

from __future__ import annotations

import datetime as dt

import pytest

from alertd.clock import FakeClock
from alertd.emulator.ingest import IngestDelay, IngestDelayError
from alertd.emulator.points import Point
from alertd.emulator.server import running_emulator

START = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def _visible(emulator_query: object, sql: str) -> int:
    response = emulator_query(sql)  # type: ignore[operator]
    response.raise_for_status()
    return int(response.json()["data"][0]["n"])


def test_rows_appear_only_after_their_delay() -> None:
    clock = FakeClock(START)
    delay = IngestDelay(30, 20)
    with running_emulator(clock=clock, ingest_delay=delay) as ae:
        points = [
            {"timestamp": (START + dt.timedelta(seconds=s)).isoformat(), "blobs": [str(s)]}
            for s in range(10)
        ]
        ae.write("hits", points)
        count = "SELECT count() AS n FROM hits FORMAT JSON"
        # The table exists at once, empty: a query is answered, not refused.
        assert _visible(ae.query, count) == 0
        clock.advance(29)
        assert _visible(ae.query, count) == 0
        seen = []
        for _ in range(31):
            clock.advance(1)
            seen.append(_visible(ae.query, count))
        assert seen == sorted(seen)
        assert 0 < seen[5] < 10, "the jitter spreads the rows out"
        assert seen[-1] == 10  # 9 s + 30 s + at most 20 s


def test_each_row_has_its_own_reproducible_delay() -> None:
    delay = IngestDelay(45, 30)
    rows = [Point(START, blobs=(str(i),)) for i in range(200)]
    delays = [delay.of("hits", row).total_seconds() for row in rows]
    assert delays == [delay.of("hits", row).total_seconds() for row in rows]
    assert all(45 <= d <= 75 for d in delays)
    assert max(delays) - min(delays) > 25


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45", IngestDelay(45, 0)),
        ("30:60", IngestDelay(30, 60)),
        ("1.5:0.5", IngestDelay(1.5, 0.5)),
    ],
)
def test_parses_delay_and_jitter(text: str, expected: IngestDelay) -> None:
    assert IngestDelay.parse(text) == expected


@pytest.mark.parametrize("text", ["", "-5", "30:", "abc", "1:2:3"])
def test_refuses_malformed_delay(text: str) -> None:
    with pytest.raises(IngestDelayError, match="--ingest-delay"):
        IngestDelay.parse(text)


def test_a_malformed_ingest_delay_stops_the_emulator_before_it_listens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from alertd.cli import main

    assert main(["emulator", "--port", "0", "--ingest-delay", "soon"]) == 2
    assert "--ingest-delay 'soon': expected seconds, or seconds:jitter" in capsys.readouterr().err
