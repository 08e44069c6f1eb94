"""A series' recent values as chart geometry: the line, threshold lines, transition marks.

Pure: the template draws what this computes, so the page needs no script and no asset.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alertd.model import SeriesPoint, Transition

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 16, 36
TICKS = 5


@dataclass(frozen=True)
class Line:
    """A horizontal line across the plot at `y`, e.g. a threshold."""

    y: float
    label: str
    kind: str  # warning | critical


@dataclass(frozen=True)
class Mark:
    """A vertical mark at `x`: one transition."""

    x: float
    label: str
    kind: str  # the change: pending, firing, resolved, ...
    row: int = 0  # the line its label is written on, so near marks' labels do not overlap


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    segments: tuple[str, ...]  # polyline point lists; a gap where a value was missing
    dots: tuple[tuple[float, float], ...]  # lone points, which a polyline would not show
    thresholds: tuple[Line, ...]
    marks: tuple[Mark, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]

    @property
    def empty(self) -> bool:
        return not self.segments and not self.dots


@dataclass(frozen=True)
class Bound:
    """A threshold to draw: its value, its severity and how it reads in the rule's unit."""

    value: float
    kind: str
    label: str


def chart(
    points: Sequence[SeriesPoint],
    bounds: Sequence[Bound],
    transitions: Sequence[Transition],
    show: Callable[[float], str],
) -> Chart:
    """The geometry of `points` against `bounds`, with `transitions` marked in their span."""
    times = [p.at for p in points] + [t.at for t in transitions]
    start = min(times, default=None)
    end = max(times, default=None)
    if start is None or end is None:
        start = end = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if end <= start:
        end = start + dt.timedelta(minutes=1)
    values = [p.value for p in points if p.value is not None and math.isfinite(p.value)]
    low, high = _range([*values, *(b.value for b in bounds)])
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    span = (end - start).total_seconds()

    def x(at: dt.datetime) -> float:
        return round(left + (at - start).total_seconds() / span * (right - left), 1)

    def y(value: float) -> float:
        return round(bottom - (value - low) / (high - low) * (bottom - top), 1)

    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point.value is None or not math.isfinite(point.value):
            runs.append([])
        else:
            runs[-1].append((x(point.at), y(point.value)))
    segments = tuple(" ".join(f"{a},{b}" for a, b in run) for run in runs if len(run) > 1)
    dots = tuple(run[0] for run in runs if len(run) == 1)
    lines = tuple(Line(y(b.value), b.label, b.kind) for b in bounds)
    marks = _labelled([Mark(x(t.at), t.change.value, t.change.value) for t in transitions])
    levels = [low + (high - low) * i / (TICKS - 1) for i in range(TICKS)]
    instants = [start + (end - start) * i / (TICKS - 1) for i in range(TICKS)]
    y_ticks = tuple(Tick(y(v), show(v)) for v in levels)
    x_ticks = tuple(Tick(x(at), _clock_time(at)) for at in instants)
    return Chart(
        WIDTH,
        HEIGHT,
        (left, top, right, bottom),
        segments,
        dots,
        lines,
        marks,
        y_ticks,
        x_ticks,
    )


LABEL_WIDTH = 70


def _labelled(marks: list[Mark]) -> tuple[Mark, ...]:
    """The marks with each label on the first line where it clears the label before it."""
    ends: list[float] = []
    placed = []
    for mark in sorted(marks, key=lambda m: m.x):
        row = next((i for i, end in enumerate(ends) if end <= mark.x), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = mark.x + LABEL_WIDTH
        placed.append(Mark(mark.x, mark.label, mark.kind, row))
    return tuple(placed)


def _range(values: Sequence[float]) -> tuple[float, float]:
    """Bounds of the y axis: the values and thresholds, with a margin, from 0 if all are
    positive and near it, so a rate's chart does not exaggerate a small wobble."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if low >= 0 and low <= (high - low):
        low = 0.0
    if high == low:
        high = low + (abs(low) or 1.0)
    margin = (high - low) * 0.08
    return low if low == 0.0 else low - margin, high + margin


def _clock_time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%H:%M")
