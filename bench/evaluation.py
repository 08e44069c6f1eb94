"""Evaluation cost: rules × series judged per tick from canned results, and a backtest day.

    .venv/bin/python bench/evaluation.py              # both parts
    .venv/bin/python bench/evaluation.py --no-backtest

Part 1 feeds `step` canned query results (no I/O): every series breaches, then pends,
fires and resolves over four ticks, so every path of the lifecycle is timed. It prints µs
per series per tick and the peak RSS of the process.
Part 2 replays one day at 30 s steps through the real planner, AE source and lifecycle
against the local emulator, and prints wall time and queries sent.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import running_emulator
from alertd.engine.backtest import backtest
from alertd.engine.step import carry, step
from alertd.logging import configure
from alertd.model import AlertState, Query, Rows
from alertd.query.results import RuleResult, SeriesValue
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule
from alertd.simulator.timeline import demo_timeline
from alertd.simulator.traffic import generate
from alertd.sources.analytics_engine import AnalyticsEngineSource

T0 = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
INTERVAL = dt.timedelta(seconds=30)


def rules(count: int) -> list[Rule]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "datasets.yaml").write_text(
            "datasets:\n  db:\n    blobs: [table, status]\n    doubles: [duration]\n"
        )
        body = "".join(
            f"  - alert: R{i}\n    dataset: db\n    value: p95(duration)\n    by: [table]\n"
            f'    thresholds: {{warning: "> 150", critical: "> 200"}}\n    for: 30s\n'
            for i in range(count)
        )
        (root / "g.yaml").write_text("group: g\nrules:\n" + body)
        loaded = load([root])
    assert not loaded.errors, loaded.errors
    return list(loaded.ruleset.rules)


def canned(rule_list: list[Rule], series: int, value: float) -> dict[str, RuleResult]:
    labels = [(("table", f"t{i:05d}"),) for i in range(series)]
    return {
        rule.name: RuleResult(rule, {lab: SeriesValue(value, 100) for lab in labels})
        for rule in rule_list
    }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_step(rule_count: int, series: int) -> None:
    rule_list = rules(rule_count)
    states: dict[str, AlertState] = {}
    total = 0.0
    values = (250.0, 250.0, 250.0, 100.0)  # pending, firing, firing, resolved
    for tick, value in enumerate(values):
        results = canned(rule_list, series, value)
        started = time.perf_counter()
        outcome = step(rule_list, results, states, T0 + tick * INTERVAL)
        states = carry(states, outcome)
        total += time.perf_counter() - started
    evaluated = rule_count * series * len(values)
    print(
        f"step: {rule_count} rules × {series} series: "
        f"{total / evaluated * 1e6:.2f} µs per series per tick, peak RSS {peak_rss_mib():.0f} MiB"
    )


def thinned(points: dict[str, list[dict[str, Any]]], keep: int) -> dict[str, list[dict[str, Any]]]:
    """Keep one point in `keep`, standing for `keep` times its events: AE's own sampling."""
    return {
        dataset: [{**p, "sample_interval": p["sample_interval"] * keep} for p in rows[::keep]]
        for dataset, rows in points.items()
    }


async def bench_backtest_day(rules_dir: Path) -> None:
    loaded = load([rules_dir])
    timeline = demo_timeline()
    day_end = T0 + dt.timedelta(days=1)
    with running_emulator() as ae:
        written = 0
        for hour in range(24):
            start = T0 + dt.timedelta(hours=hour)
            # The demo's incidents replay every hour; a tenth of the points keeps a day light.
            points = generate(
                timeline, start, start + dt.timedelta(hours=1), origin=start, seed=hour
            )
            for dataset, rows in thinned(points, 10).items():
                written += ae.write(dataset, rows).written
        counter = CountingSource(
            AnalyticsEngineSource(
                ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
            )
        )
        started = time.perf_counter()
        try:
            transitions = await backtest(
                loaded.ruleset, counter, T0 + dt.timedelta(minutes=10), day_end, step=INTERVAL
            )
        finally:
            await counter.aclose()
        elapsed = time.perf_counter() - started
    print(
        f"backtest: 1 day at 30 s steps over {written} points: {elapsed:.1f} s wall, "
        f"{counter.sent} queries sent, {len(transitions)} transitions, "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )


class CountingSource:
    """Counts the queries a source is asked, passing them on."""

    def __init__(self, inner: AnalyticsEngineSource) -> None:
        self.inner = inner
        self.sent = 0

    async def run(self, query: Query) -> Rows:
        self.sent += 1
        return await self.inner.run(query)

    async def aclose(self) -> None:
        await self.inner.aclose()


def main() -> int:
    configure("warning", "console")
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-backtest", action="store_true")
    args = parser.parse_args()
    bench_step(50, 200)
    bench_step(50, 10_000)
    if not args.no_backtest:
        asyncio.run(bench_backtest_day(Path(__file__).resolve().parents[1] / "rules"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
