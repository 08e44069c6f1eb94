"""Alert quality: a simulated day replayed with the shipped rules, confidence on and off.

    .venv/bin/python bench/quality.py              # five days of different traffic
    .venv/bin/python bench/quality.py --seeds 8    # eight days
    .venv/bin/python bench/quality.py --keep 20    # smaller indexes still

Starts a local emulator, writes the quality day of alertd/simulator/quality.py (incidents
of different sizes, some only slightly past the bound, on sampled indexes; a series at its
bound for an hour; a one-row blip), replays it with a range backtest, and prints per rule:
incidents paged, detection delay (median, max, from the incident's start), false pages,
flaps (pages beyond an incident's first) and pages while a series sat at its bound, summed
over the days; then each day on which the shipped settings paged falsely, missed an
incident or flapped. Rules that read sources besides AE (Workers GraphQL, HTTP JSON) are
left out: the emulator cannot answer them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import sys
from pathlib import Path

from pydantic import SecretStr

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator, running_emulator
from alertd.engine.range_backtest import range_backtest
from alertd.logging import configure
from alertd.model import Transition
from alertd.rules.loader import load
from alertd.rules.ruleset import RuleSet
from alertd.simulator.quality import QUALITY_DAY, Score, day_points, expected, score
from alertd.sources.analytics_engine import AnalyticsEngineSource

T0 = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
RULES = Path(__file__).resolve().parents[1] / "rules"
WRITE_BATCH = 20_000


def on_ae(ruleset: RuleSet) -> RuleSet:
    """The rules a replay from AE can judge: those reading no other declared source."""
    names = {r.name for r in ruleset.rules if set(r.datasets) & set(ruleset.sources)}
    kept = ruleset.without(names)
    return RuleSet(kept.datasets, tuple(g for g in kept.groups if g.rules), kept.sources)


def without_confidence(ruleset: RuleSet) -> RuleSet:
    groups = tuple(
        dataclasses.replace(
            g, rules=tuple(dataclasses.replace(r, confidence=None) for r in g.rules)
        )
        for g in ruleset.groups
    )
    return RuleSet(ruleset.datasets, groups)


async def replay(ae: RunningEmulator, ruleset: RuleSet, day: dt.datetime) -> list[Transition]:
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=FakeClock(T0).sleep
    )
    try:
        start, end = day + dt.timedelta(minutes=10), day + dt.timedelta(days=1)
        return await range_backtest(ruleset, source, start, end, chunk=dt.timedelta(hours=6))
    finally:
        await source.aclose()


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def merged(scores: list[Score]) -> Score:
    total = Score()
    for s in scores:
        total.incidents += s.incidents
        total.paged += s.paged
        total.delays.extend(s.delays)
        total.false_pages += s.false_pages
        total.flaps += s.flaps
        total.hovering_pages += s.hovering_pages
    return total


async def main_async(seeds: int, keep: int) -> None:
    shipped = on_ae(load([RULES]).ruleset)
    variants = {"on": shipped, "off": without_confidence(shipped)}
    scores: dict[tuple[str, str], list[Score]] = {}
    with running_emulator() as ae:
        for seed in range(1, seeds + 1):
            day = T0 + dt.timedelta(days=seed - 1)
            for dataset, points in day_points(QUALITY_DAY, day, keep=keep, seed=seed).items():
                # In parts: one large request can outlast the client's timeout.
                for first in range(0, len(points), WRITE_BATCH):
                    ae.write(dataset, points[first : first + WRITE_BATCH])
            incidents = expected(QUALITY_DAY, day)
            for name, ruleset in variants.items():
                found = await replay(ae, ruleset, day)
                for rule in shipped.rules:
                    scores.setdefault((rule.name, name), []).append(
                        score(rule.name, found, incidents)
                    )
    print(f"quality day x{seeds}, 1 point in {keep} kept (AE-like sampling), summed over days")
    header = ("rule", "confidence", "paged", "delay median", "delay max", "false", "flaps", "hover")
    print("{:<26}{:>11}{:>8}{:>14}{:>11}{:>7}{:>7}{:>7}".format(*header))
    for rule in shipped.rules:
        for name in variants:
            s = merged(scores[(rule.name, name)])
            shown = rule.confidence if name == "on" and rule.confidence else "off"
            print(
                f"{rule.name:<26}{shown!s:>11}{f'{s.paged}/{s.incidents}':>8}"
                f"{seconds(s.delay_median):>14}{seconds(s.delay_max):>11}"
                f"{s.false_pages:>7}{s.flaps:>7}{s.hovering_pages:>7}"
            )
    print("shipped settings, days with a false page, a missed incident or a flap:")
    found = [
        f"  day {seed}: {rule.name} {problems}"
        for rule in shipped.rules
        for seed, day_score in enumerate(scores[(rule.name, "on")], start=1)
        if (problems := trouble(day_score))
    ]
    print("\n".join(found) if found else "  none")


def trouble(s: Score) -> str:
    """What went wrong on one day for one rule, in words; "" when nothing did."""
    said = [
        f"{s.false_pages} false" if s.false_pages else "",
        f"{s.incidents - s.paged} missed" if s.paged < s.incidents else "",
        f"{s.flaps} flaps" if s.flaps else "",
    ]
    return ", ".join(part for part in said if part)


def main() -> int:
    configure("warning", "console")
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5, help="days of different traffic")
    parser.add_argument("--keep", type=int, default=10, help="keep one point in this many")
    args = parser.parse_args()
    asyncio.run(main_async(args.seeds, args.keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
