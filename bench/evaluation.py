"""What a tick costs after AE has answered: read, step and commit, per series, and peak RSS.

    .venv/bin/python bench/evaluation.py                 # 1,000, 10,000 and 100,000 series
    .venv/bin/python bench/evaluation.py --series 5000   # one size
    .venv/bin/python bench/evaluation.py --storm 20      # 20 % of series fire throughout

Each size runs in a process of its own that never imports the emulator (nor chdb), as
`alertd run` does not, so its peak RSS is what a daemon watching that many series needs.
Ten rules share one (dataset, grouping); canned answers stand for AE's (building them is
not timed). One series in a hundred breaches for four ticks, so it pends, fires and
resolves; the others stay clear. With `--storm P`, P % of the series breach from the second
tick to the last instead (an alert storm): they pend, fire, and stay firing, so most ticks
judge and keep thousands of firing alerts whose status does not change. Every tick is read
from the answers (`read`), judged (`step`) and committed to a SQLite store, as
`Evaluator.tick` does. Printed: CPU µs per series per tick for each phase and in all, the
process's peak RSS, and the commit of the ticks in which no alert changed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from alertd.engine.step import carry, step
from alertd.logging import configure
from alertd.model import AlertState, Rows
from alertd.query.measures import Measure
from alertd.query.plan import Plan, PlannedQuery, plan
from alertd.query.results import read
from alertd.rules.loader import load
from alertd.rules.ruleset import RuleSet
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore

T0 = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
INTERVAL = dt.timedelta(seconds=30)
RULES = 10
TICKS = 8
BREACHING = range(1, 5)  # ticks at which one series in a hundred breaches
VALUES = ("p95(duration)", "avg(duration)", "max(duration)")
SIZES = (1_000, 10_000, 100_000)


def ruleset() -> RuleSet:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "datasets.yaml").write_text(
            "datasets:\n  db:\n    blobs: [table, status]\n    doubles: [duration]\n"
        )
        body = "".join(
            f"  - alert: R{i}\n    dataset: db\n    value: {VALUES[i % len(VALUES)]}\n"
            f'    by: [table]\n    thresholds: {{warning: "> 150", critical: "> 200"}}\n'
            f"    for: 30s\n"
            for i in range(RULES)
        )
        (root / "g.yaml").write_text("group: g\nlabels: {team: db}\nrules:\n" + body)
        loaded = load([root])
    assert not loaded.errors, loaded.errors
    return loaded.ruleset


def cell(measure: Measure, value: float) -> float:
    """A measure's column for a series with 100 rows whose duration reads `value`."""
    if measure.kind in ("rows", "events"):
        return 100.0
    return value * 100 if measure.kind == "sum" else value


def breaches(i: int, tick: int, storm: int) -> bool:
    """Whether series `i` breaches at `tick`: one in a hundred for four ticks, or in a
    storm `storm` in a hundred from the second tick on."""
    if storm:
        return i % 100 < storm and tick >= 1
    return i % 100 == 0 and tick in BREACHING


def answers(
    planned: Plan, rows: int, tick: int, storm: int
) -> dict[PlannedQuery, Rows | Exception]:
    out: dict[PlannedQuery, Rows | Exception] = {}
    for query in planned.queries:
        data = []
        for i in range(rows):
            # A breaching value that moves every tick, as a real one does.
            value = 250.0 + tick + i % 7 if breaches(i, tick, storm) else 100.0 + i % 40
            row: dict[str, str | float] = {alias: f"t{i:06d}" for alias in query.labels}
            row.update({alias: cell(m, value) for m, alias in query.measures.items()})
            data.append(row)
        out[query] = Rows((), tuple(data))
    return out


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def one_size(series: int, storm: int) -> str:
    rules = ruleset()
    group = rules.groups[0]
    rows = series // RULES
    spent = {"read": 0.0, "step": 0.0, "commit": 0.0}
    # Commits of ticks in which no alert changed: what a storm that goes on costs.
    steady_seconds, steady_ticks = 0.0, 0
    states: dict[str, AlertState] = {}
    transitions = 0
    with tempfile.TemporaryDirectory() as folder:
        store = await SqliteStore.open(Path(folder) / "state.db")
        try:
            for tick in range(TICKS):
                at = T0 + tick * INTERVAL
                planned = plan(group.rules, rules.datasets, at)
                answered: Mapping[PlannedQuery, Rows | Exception] = answers(
                    planned, rows, tick, storm
                )
                started = time.process_time()
                results = read(planned, answered)
                read_done = time.process_time()
                outcome = step(group.rules, results, states, at, interval=INTERVAL)
                after = carry(states, outcome)
                step_done = time.process_time()
                await store.commit(
                    Commit(
                        at=at,
                        group=group.name,
                        states=outcome.to_write(states),
                        removed=tuple(outcome.removed),
                        evaluated=tuple(outcome.evaluated),
                        transitions=tuple(outcome.transitions),
                        points=tuple(outcome.points),
                    )
                )
                committed = time.process_time()
                states = after
                transitions += len(outcome.transitions)
                spent["read"] += read_done - started
                spent["step"] += step_done - read_done
                spent["commit"] += committed - step_done
                if not outcome.transitions:
                    steady_seconds += committed - step_done
                    steady_ticks += 1
                del answered, results, outcome
        finally:
            await store.aclose()
    # The figure stands for `alertd run` only if nothing loaded the emulator's engine.
    assert "chdb" not in sys.modules
    assert "alertd.emulator" not in sys.modules
    judged = rows * RULES * TICKS
    per = {phase: seconds / judged * 1e6 for phase, seconds in spent.items()}
    steady = (
        f"; steady ticks' commit {steady_seconds / (rows * RULES * steady_ticks) * 1e6:.2f} µs"
        if steady_ticks
        else ""
    )
    return (
        f"{rows * RULES:>7} series: read {per['read']:5.2f}  step {per['step']:5.2f}  "
        f"commit {per['commit']:5.2f}  total {sum(per.values()):5.2f} µs CPU per series per "
        f"tick; {transitions} transitions; peak RSS {peak_rss_mib():.0f} MiB{steady}"
    )


def main() -> int:
    configure("warning", "console")
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, help="one size, in this process")
    parser.add_argument(
        "--storm", type=int, default=0, metavar="P", help="P %% of series fire throughout"
    )
    args = parser.parse_args()
    if not 0 <= args.storm <= 100:
        parser.error("--storm is a percentage, 0 to 100")
    if args.series:
        print(asyncio.run(one_size(args.series, args.storm)), flush=True)
        return 0
    scenario = f"{args.storm} % of series firing" if args.storm else "1 % of series breaching"
    print(f"{RULES} rules on one (dataset, grouping), {TICKS} ticks, {scenario}, SQLite store")
    for size in SIZES:
        done = subprocess.run(
            [sys.executable, __file__, "--series", str(size), "--storm", str(args.storm)],
            check=False,
            timeout=900,
        )
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
