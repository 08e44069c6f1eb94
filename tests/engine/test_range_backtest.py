"""A range backtest makes exactly the transitions of the tick-by-tick replay: random rows,
rules, windows and steps on the emulator, both replays asking it over HTTP."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.dialect import check_sql
from alertd.emulator.server import RunningEmulator
from alertd.engine.backtest import backtest
from alertd.engine.range_backtest import Statistics, range_backtest
from alertd.model import Query, Rows, Transition
from alertd.rules.loader import load
from alertd.rules.ruleset import RuleSet
from alertd.sources.analytics_engine import AnalyticsEngineSource

T0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
SPAN = 12 * 60  # seconds of data
DATASET = "perf"
DATASETS = (
    "datasets:\n"
    f"  {DATASET}:\n"
    "    blobs: [endpoint, method, statusCode]\n"
    "    doubles: [duration, queryCount]\n"
    "    numeric_blobs: [statusCode]\n"
)
# A value and the bounds its thresholds are drawn from.
VALUES: dict[str, tuple[int, int]] = {
    "count()": (0, 40),
    'count(method == "GET")': (0, 20),
    "ratio(statusCode >= 500)": (0, 1),
    "sum(queryCount)": (0, 40),
    "avg(duration)": (0, 100),
    "min(duration)": (0, 100),
    'max(duration, method == "POST")': (0, 100),
    "p95(duration)": (0, 100),
    "p50(duration, statusCode < 500)": (0, 100),
    "count(statusCode >= 500) / count()": (0, 1),
}


@dataclass(frozen=True)
class RuleSpec:
    value: str
    bound: float
    window: int
    by: bool
    for_: int
    no_data: str
    min_samples: int
    # Weighs the rows behind a ratio or a quantile (other values ignore it).
    confidence: bool = False


rule_specs = st.builds(
    RuleSpec,
    value=st.sampled_from(sorted(VALUES)),
    bound=st.floats(0, 1),
    # Multiples of the step, windows the step does not divide, and some shorter than it.
    window=st.sampled_from((20, 30, 45, 50, 60, 90, 120, 300)),
    by=st.booleans(),
    for_=st.sampled_from((0, 30, 60)),
    no_data=st.sampled_from(("keep", "ok", "alert")),
    min_samples=st.sampled_from((0, 1, 3)),
    confidence=st.booleans(),
)

points = st.lists(
    st.tuples(
        st.integers(0, SPAN - 1),  # second of the point
        st.sampled_from(("/a", "/b")),
        st.sampled_from(("GET", "POST")),
        st.sampled_from(("200", "404", "500")),
        st.integers(0, 100),  # duration: whole numbers add up exactly in any order
        st.integers(0, 5),  # queryCount
        st.sampled_from((1, 1, 2, 10)),  # sample interval
        st.integers(0, 999),  # milliseconds
    ),
    min_size=0,
    max_size=80,
)


def ruleset(specs: Sequence[RuleSpec], interval: int) -> RuleSet:
    body = "".join(_rule(i, spec) for i, spec in enumerate(specs))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "datasets.yaml").write_text(DATASETS)
        (root / "g.yaml").write_text(f"group: g\ninterval: {interval}s\nrules:\n{body}")
        loaded = load([root])
    assert loaded.errors == [], loaded.errors
    return loaded.ruleset


def _rule(index: int, spec: RuleSpec) -> str:
    low, high = VALUES[spec.value]
    bound = low + spec.bound * (high - low)
    return (
        f"  - alert: R{index}\n"
        f"    dataset: {DATASET}\n"
        f"    value: '{spec.value}'\n"
        f"    window: {spec.window}s\n"
        + ("    by: [endpoint]\n" if spec.by else "")
        + f'    thresholds: {{warning: "> {bound:.3f}"}}\n'
        f"    for: {spec.for_}s\n"
        f"    no_data: {spec.no_data}\n"
        f"    min_samples: {spec.min_samples}\n"
        + ("    confidence: 0.9\n" if spec.confidence and _weighable(spec.value) else "")
    )


def _weighable(value: str) -> bool:
    return value.startswith(("ratio(", "p95(", "p50(")) and ") " not in value


class Checked:
    """Passes queries to the emulator, failing any that leaves AE's dialect."""

    def __init__(self, inner: AnalyticsEngineSource) -> None:
        self.inner = inner

    async def run(self, query: Query) -> Rows:
        assert check_sql(query.sql) is None, query.sql
        return await self.inner.run(query)

    async def aclose(self) -> None:
        await self.inner.aclose()


def replay(
    ae: RunningEmulator, rules: RuleSet, step: int | None, chunk: int, *, exact: bool
) -> list[Transition]:
    start, end = T0 + dt.timedelta(seconds=60), T0 + dt.timedelta(seconds=SPAN + 120)
    by = None if step is None else dt.timedelta(seconds=step)

    async def run() -> list[Transition]:
        source = Checked(
            AnalyticsEngineSource(
                ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
            )
        )
        try:
            if exact:
                return await backtest(rules, source, start, end, step=by)
            return await range_backtest(
                rules, source, start, end, step=by, chunk=dt.timedelta(seconds=chunk)
            )
        finally:
            await source.aclose()

    return anyio.run(run)


def in_order(transitions: list[Transition]) -> list[Transition]:
    """Series come back from AE in no set order: within one instant, order by alert."""
    return sorted(transitions, key=lambda t: (t.at, t.fingerprint))


def write(
    ae: RunningEmulator, drawn: Sequence[tuple[int, str, str, str, int, int, int, int]]
) -> None:
    ae.reset()
    rows = [
        {
            "timestamp": int((T0 + dt.timedelta(seconds=second)).timestamp() * 1000) + millis,
            "indexes": [endpoint],
            "blobs": [endpoint, method, status],
            "doubles": [float(duration), float(queries)],
            "sample_interval": sample,
        }
        for second, endpoint, method, status, duration, queries, sample, millis in drawn
    ]
    # One row far outside the range, so the dataset exists even when nothing was drawn.
    rows.append(
        {"timestamp": 0, "indexes": ["/a"], "blobs": ["/a", "GET", "200"], "doubles": [1.0, 1.0]}
    )
    ae.write(DATASET, rows)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(rule_specs, min_size=1, max_size=4),
    interval=st.sampled_from((20, 30, 60)),
    step=st.sampled_from((None, None, 15, 30, 45, 120)),
    chunk=st.sampled_from((60, 300, 3600)),
    drawn=points,
)
def test_a_range_backtest_makes_the_transitions_of_the_tick_by_tick_replay(
    ae: RunningEmulator,
    specs: list[RuleSpec],
    interval: int,
    step: int | None,
    chunk: int,
    drawn: list[tuple[int, str, str, str, int, int, int, int]],
) -> None:
    write(ae, drawn)
    rules = ruleset(specs, interval)
    exact = replay(ae, rules, step, chunk, exact=True)
    ranged = replay(ae, rules, step, chunk, exact=False)
    assert in_order(ranged) == in_order(exact)


def test_a_range_backtest_asks_a_few_statements_per_chunk(ae: RunningEmulator) -> None:
    """Per chunk: one statement per (dataset, grouping), one per quantile grid offset
    (that they answer rightly is the property above)."""
    write(ae, [(s, "/a", "GET", "200", s % 100, 1, 1, 0) for s in range(0, SPAN, 7)])
    specs = [
        RuleSpec("count()", 0.5, 300, True, 0, "keep", 0),
        RuleSpec("ratio(statusCode >= 500)", 0.5, 60, True, 0, "keep", 0),
        RuleSpec("p95(duration)", 0.5, 300, True, 0, "keep", 0),
        RuleSpec("sum(queryCount)", 0.5, 120, False, 0, "keep", 0),
    ]
    rules = ruleset(specs, 30)
    counted = Statistics()

    async def run() -> list[Transition]:
        source = AnalyticsEngineSource(
            ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
        )
        try:
            return await range_backtest(
                rules, source, T0, T0 + dt.timedelta(hours=2), statistics=counted
            )
        finally:
            await source.aclose()

    anyio.run(run)
    # Two chunks of an hour and the instant that ends the range, each with two
    # (dataset, grouping) pairs and the ten grid offsets of the 5m quantile.
    assert counted.statements == 3 * (2 + 10)
