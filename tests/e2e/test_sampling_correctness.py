"""Compiled SQL, run by chdb behind the emulator's HTTP API, against the same statistics
computed in Python over the expanded, unsampled events."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule, RuleSet
from tests.query.emulated import evaluate

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
DATASET = "pitchey_database_metrics"
TABLES = ("users", "pitches", "ndas")


@dataclass(frozen=True)
class Row:
    at: dt.datetime
    table: str
    status: str
    duration: float
    row_count: float
    interval: int


def sampled_rows(seed: int) -> list[Row]:
    rng = random.Random(seed)
    rows = []
    for _ in range(3000):
        # Some rows fall before the longest window and some at or after the tick: both ignored.
        at = AT - dt.timedelta(seconds=rng.randrange(-30, 700))
        rows.append(
            Row(
                at=at,
                table=rng.choice(TABLES),
                status="error" if rng.random() < 0.07 else "success",
                duration=round(rng.lognormvariate(math.log(60), 0.8), 3),
                row_count=float(rng.randrange(0, 40)),
                interval=rng.choice((1, 1, 1, 2, 5, 10, 100)),
            )
        )
    return rows


def expand(rows: list[Row], window: dt.timedelta) -> list[Row]:
    """The events the rows stand for, inside [AT - window, AT)."""
    inside = [r for r in rows if AT - window <= r.at < AT]
    return [r for r in inside for _ in range(r.interval)]


def quantile_exact(values: list[float], level: float) -> float:
    """ClickHouse's quantileExactWeighted over unit weights: the first value whose
    cumulative count reaches ceil(level * n)."""
    ordered = sorted(values)
    threshold = math.ceil(level * len(ordered))
    return ordered[max(threshold, 1) - 1]


def ruleset() -> RuleSet:
    loaded = load([Path(__file__).parents[2] / "rules"])
    assert loaded.errors == []
    return loaded.ruleset


def make_rules(rules: RuleSet, by: tuple[str, ...]) -> dict[str, Rule]:
    specs = {
        "count": ("count()", None, 5),
        "errors": ('count(status == "error")', None, 5),
        "rows_sum": ("sum(rowCount)", None, 1),
        "mean": ("avg(duration)", 'status == "success"', 5),
        "error_ratio": ('ratio(status == "error")', None, 1),
        "p50": ("p50(duration)", None, 5),
        "p95": ("p95(duration)", 'status == "success"', 5),
        "p99": ("p99(duration)", None, 1),
        "p999_ok": ('quantile(0.999, duration, status == "success")', None, 10),
        "min_err": ('min(duration, status == "error")', None, 5),
        "max_err": ('max(duration, status == "error")', None, 5),
        "per_event": ("sum(rowCount) / count()", None, 5),
    }
    return {
        name: adhoc_rule(
            value,
            rules.datasets[DATASET],
            by=by,
            where=where,
            window=dt.timedelta(minutes=minutes),
            name=f"{name}_{'_'.join(by) or 'all'}",
        )
        for name, (value, where, minutes) in specs.items()
    }


def expected(name: str, events: list[Row]) -> float | None:
    success = [e for e in events if e.status == "success"]
    errors = [e for e in events if e.status == "error"]
    durations = [e.duration for e in events]
    if name == "count":
        return len(events)
    if name == "errors":
        return len(errors)
    if name == "rows_sum":
        return sum(e.row_count for e in events)
    if name == "mean":
        return sum(e.duration for e in success) / len(success) if success else None
    if name == "error_ratio":
        return len(errors) / len(events) if events else None
    if name == "p50":
        return quantile_exact(durations, 0.5) if events else None
    if name == "p95":
        return quantile_exact([e.duration for e in success], 0.95) if success else None
    if name == "p99":
        return quantile_exact(durations, 0.99) if events else None
    if name == "p999_ok":
        return quantile_exact([e.duration for e in success], 0.999) if success else None
    if name == "min_err":
        return min(e.duration for e in errors) if errors else None
    if name == "max_err":
        return max(e.duration for e in errors) if errors else None
    if name == "per_event":
        return sum(e.row_count for e in events) / len(events) if events else None
    raise AssertionError(name)


def write(ae: RunningEmulator, rows: list[Row]) -> None:
    ae.reset()
    points = [
        {
            "timestamp": int(r.at.timestamp() * 1000),
            "indexes": [r.table],
            "blobs": ["SELECT", r.table, r.status, "", "/api", "u1"],
            "doubles": [r.duration, r.row_count, r.at.timestamp()],
            "sample_interval": r.interval,
        }
        for r in rows
    ]
    assert ae.write(DATASET, points).written == len(points)


@pytest.mark.anyio
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_weighted_aggregates_equal_statistics_of_the_unsampled_events(
    ae: RunningEmulator, seed: int
) -> None:
    rows = sampled_rows(seed)
    write(ae, rows)
    rules = ruleset()
    grouped = make_rules(rules, ("table",))
    overall = make_rules(rules, ())
    results = await evaluate(ae, rules, [*grouped.values(), *overall.values()])
    for name, rule in grouped.items():
        window = rule.window
        for table in TABLES:
            events = [e for e in expand(rows, window) if e.table == table]
            got = results[rule.name].series[(("table", table),)]
            _assert_close(name, got.value, expected(name, events))
    for name, rule in overall.items():
        events = expand(rows, rule.window)
        got = results[rule.name].series[()]
        _assert_close(name, got.value, expected(name, events))


@pytest.mark.anyio
async def test_samples_count_raw_rows_not_events(ae: RunningEmulator) -> None:
    rows = sampled_rows(9)
    write(ae, rows)
    rules = ruleset()
    rule = make_rules(rules, ("table",))["p95"]
    results = await evaluate(ae, rules, [rule])
    for table in TABLES:
        raw = [
            r
            for r in rows
            if AT - rule.window <= r.at < AT and r.table == table and r.status == "success"
        ]
        assert results[rule.name].series[(("table", table),)].samples == len(raw)


def _assert_close(name: str, got: float | None, want: float | None) -> None:
    if want is None:
        assert got is None, name
        return
    assert got is not None, name
    if name in ("count", "errors", "p50", "p95", "p99", "p999_ok", "min_err", "max_err"):
        assert got == want, name  # counts and exact quantiles: equal, not close
    else:
        assert got == pytest.approx(want, rel=1e-9), name
