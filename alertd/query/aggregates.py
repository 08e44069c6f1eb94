"""How each aggregate of the rule language is built from measures, and read back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alertd.query.blob_numbers import numeric_blob_columns
from alertd.query.measures import Measure
from alertd.rules.ast import BoundAggregate, conjoin


@dataclass(frozen=True)
class AggregateValue:
    """An aggregate's value (None when it cannot be computed) and the raw rows behind it."""

    value: float | None
    samples: int


def needed_measures(bound: BoundAggregate, window_seconds: int) -> list[Measure]:
    """The measures an aggregate is computed from; the first is its samples' row count.

    A count or sum over rows that match nothing is a real 0, so its samples are the rows of
    the whole series; a mean, extreme or quantile of nothing has no value, so its samples
    are the rows it is computed over.
    """
    agg = bound.aggregate
    series = Measure("rows", conjoin(bound.where), window_seconds)
    if agg.func == "count":
        return [series, Measure("events", conjoin(bound.where, agg.cond), window_seconds)]
    if agg.func == "ratio":
        population = conjoin(bound.where, agg.of)
        return [
            Measure("rows", population, window_seconds),
            Measure("events", population, window_seconds),
            Measure("events", conjoin(population, agg.cond), window_seconds),
        ]
    cond = conjoin(bound.where, agg.cond)
    if agg.func == "sum":
        return [series, Measure("sum", cond, window_seconds, arg=agg.arg)]
    # Only rows whose numeric blobs hold numbers have a value to aggregate.
    readable = agg.arg if numeric_blob_columns(agg.arg) else None
    rows = Measure("rows", cond, window_seconds, arg=readable)
    if agg.func == "avg":
        return [
            rows,
            Measure("sum", cond, window_seconds, arg=agg.arg),
            Measure("events", cond, window_seconds, arg=readable),
        ]
    if agg.func == "quantile":
        return [rows, Measure("quantile", cond, window_seconds, arg=agg.arg, level=agg.level)]
    return [rows, Measure(agg.func, cond, window_seconds, arg=agg.arg)]


def read_aggregate(
    bound: BoundAggregate, window_seconds: int, read: Callable[[Measure], float]
) -> AggregateValue:
    """Compute an aggregate for one series from its measures' values."""
    measures = needed_measures(bound, window_seconds)
    return AggregateValue(*aggregate_from(bound.aggregate.func, [read(m) for m in measures]))


def aggregate_from(func: str, values: Sequence[float]) -> tuple[float | None, int]:
    """An aggregate's value and samples from the values of its `needed_measures`, in their
    order: a plain pair, as it is computed for every series of every tick."""
    samples = int(values[0])
    if func in ("count", "sum"):
        return (values[1], samples)
    if func == "ratio":
        total = values[1]
        return (values[2] / total if total else None, samples)
    if samples == 0:
        # No matching rows: a quantile, mean or extreme of nothing is unknown, not zero.
        return (None, 0)
    if func == "avg":
        events = values[2]
        return (values[1] / events if events else None, samples)
    return (values[1], samples)
