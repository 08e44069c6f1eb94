"""Chart geometry: gaps where values are missing, thresholds always in view, marks placed."""

from __future__ import annotations

import datetime as dt

from alertd.model import Change, SeriesPoint, Severity, Status, Transition
from alertd.server.svg_chart import HEIGHT, Bound, chart

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def points(values: list[float | None]) -> list[SeriesPoint]:
    return [
        SeriesPoint("f", AT + dt.timedelta(seconds=30 * i), v, 10) for i, v in enumerate(values)
    ]


def moved(seconds: int, change: Change) -> Transition:
    return Transition(
        AT + dt.timedelta(seconds=seconds),
        "f",
        "R",
        (),
        change,
        Status.PENDING,
        Status.FIRING,
        Severity.WARNING,
        None,
        1.0,
    )


def test_a_missing_value_breaks_the_line_and_a_lone_value_is_a_dot() -> None:
    drawn = chart(points([1, 2, None, 3, None, 4, 5]), [], [], str)
    assert [len(s.split()) for s in drawn.segments] == [2, 2]
    assert len(drawn.dots) == 1


def test_thresholds_above_every_value_stay_inside_the_plot() -> None:
    bounds = [Bound(150, "warning", "warning > 150"), Bound(200, "critical", "critical > 200")]
    drawn = chart(points([10, 20, 30]), bounds, [], str)
    _, top, _, bottom = drawn.plot
    for line in drawn.thresholds:
        assert top <= line.y <= bottom
    critical, warning = drawn.thresholds[1], drawn.thresholds[0]
    assert critical.y < warning.y
    assert drawn.y_ticks[0].label == "0.0"  # positive values near zero: the axis starts at 0
    assert float(drawn.y_ticks[-1].label) > 200


def test_marks_sit_at_their_time_and_near_labels_take_another_line() -> None:
    drawn = chart(
        points([1.0] * 11),
        [],
        [moved(0, Change.PENDING), moved(30, Change.FIRING), moved(300, Change.RESOLVED)],
        str,
    )
    left, _, right, _ = drawn.plot
    pending, firing, resolved = drawn.marks
    assert pending.x == left
    assert resolved.x == right
    assert firing.x == left + (right - left) / 10
    assert (pending.row, firing.row, resolved.row) == (0, 1, 0)


def test_nothing_stored_is_an_empty_chart() -> None:
    drawn = chart([], [], [], str)
    assert drawn.empty
    assert drawn.height == HEIGHT
