"""A day to judge alert quality by, and the score of a replay's pages against it.

The day has incidents of different sizes (some only slightly past a rule's bound), on
indexes AE samples, a series that sits at its bound for an hour (it may page once, never
flap) and a one-row blip: a single heavy sampled row that alone lifts a P95 past its
bound, which no rule should page for. Points are thinned as AE thins busy indexes, so
every index is sampled and a five-minute window holds only dozens to hundreds of rows.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from alertd.model import Change, Transition
from alertd.simulator.timeline import (
    CacheDrop,
    ConnectionErrors,
    ErrorBurst,
    FailedQueries,
    Incident,
    SlowEndpoint,
    SlowTable,
    Timeline,
    parse_timeline,
)
from alertd.simulator.traffic import DATABASE, DATASETS, Point, generate

# The traffic's load wave repeats every 15 minutes: a quiet block can stand for any other.
BLOCK = dt.timedelta(minutes=15)
BLOCKS_PER_DAY = 96
# A page this long after its incident ended still belongs to it (the window drains).
GRACE = dt.timedelta(minutes=10)

QUALITY_DAY = parse_timeline(
    """
duration: 24h
incidents:
  # Slightly past SlowQueryP95's 150 ms warning.
  - {kind: slow_table, table: users, from: 2h, to: 2h30m, peak_p95_ms: 175, ramp: 5m}
  - {kind: slow_table, table: messages, from: 4h, to: 4h20m, peak_p95_ms: 320}
  # pitches is the busiest table: AE samples it even before thinning.
  - {kind: slow_table, table: pitches, from: 6h, to: 6h30m, peak_p95_ms: 200, ramp: 5m}
  - {kind: failed_queries, table: messages, from: 8h, to: 8h20m, share: 3%, ramp: 2m}
  # Clearly past ApiResponseP95's 400 ms warning. At a peak of 480 ms, one day in eight
  # (seed 6) drew an incident whose sampled P95 stayed at 394 ms through its middle ten
  # minutes (9 of 233 sampled responses above 400 ms): not the incident it names.
  - {kind: slow_endpoint, endpoint: /api/search, from: 10h, to: 10h20m, peak_p95_ms: 560}
  - {kind: error_burst, endpoint: /api/pitches, from: 12h, to: 12h20m, share: 9%, ramp: 2m}
  - {kind: cache_drop, from: 14h, to: 14h30m, hit_rate: 0.6, ramp: 5m}
  # At its bound for an hour: at most one page.
  - {kind: slow_table, table: ndas, from: 16h, to: 17h, peak_p95_ms: 150, ramp: 0s}
""",
    "quality day",
)
# The bound-hugging incident, which may page once but need not.
HOVERING = QUALITY_DAY.incidents[7]
# When the blip's one heavy row lands, as an offset from the day's start.
BLIP = dt.timedelta(hours=19)


@dataclass(frozen=True)
class Expected:
    """An incident as a rule should see it: the labels its alert carries, and when."""

    rule: str
    labels: dict[str, str]
    start: dt.datetime
    end: dt.datetime
    must_page: bool = True


@dataclass
class Score:
    """How one rule's pages matched the incidents meant for it."""

    incidents: int = 0
    paged: int = 0
    delays: list[float] = field(default_factory=list)  # seconds from incident start
    false_pages: int = 0
    flaps: int = 0  # pages beyond an incident's first
    hovering_pages: int = 0

    @property
    def delay_median(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    @property
    def delay_max(self) -> float | None:
        return max(self.delays) if self.delays else None


def day_points(
    timeline: Timeline,
    start: dt.datetime,
    *,
    keep: int,
    seed: int = 1,
    datasets: tuple[str, ...] = DATASETS,
) -> dict[str, list[Point]]:
    """A day of points, one in `keep` kept (standing for `keep` times its events).

    Blocks without an incident repeat one quiet block (generating is slow), blocks with
    one are generated as they are.
    """
    quiet = _thinned(
        generate(Timeline(), start, start + BLOCK, origin=start, seed=seed, datasets=datasets),
        keep,
    )
    out: dict[str, list[Point]] = {d: [] for d in datasets}
    for block in range(BLOCKS_PER_DAY):
        begin = start + block * BLOCK
        if any(_overlaps(i, begin - start) for i in timeline.incidents):
            points = generate(
                timeline, begin, begin + BLOCK, origin=start, seed=seed + block, datasets=datasets
            )
            for dataset, rows in _thinned(points, keep).items():
                out[dataset].extend(rows)
            continue
        shift = int(block * BLOCK.total_seconds() * 1000)
        for dataset, rows in quiet.items():
            out[dataset].extend({**p, "timestamp": int(p["timestamp"]) + shift} for p in rows)
    if DATABASE in out:
        out[DATABASE].append(blip(start + BLIP, keep))
    return out


def blip(at: dt.datetime, keep: int) -> Point:
    """One successful query on `users` of 900 ms, standing for ten times its neighbours'
    events: alone, it holds about 6 % of a five-minute window's weight."""
    epoch_ms = int(at.timestamp() * 1000)
    return {
        "timestamp": epoch_ms,
        "indexes": ["users"],
        "blobs": ["SELECT", "users", "success", "", "/api/users/me", "u1"],
        "doubles": [900.0, 1.0, float(epoch_ms)],
        "sample_interval": 10 * keep,
    }


def expected(timeline: Timeline, start: dt.datetime) -> list[Expected]:
    """Each incident as the shipped rules should page for it."""
    found: list[Expected] = []
    for incident in timeline.incidents:
        begin, end = start + incident.start, start + incident.end
        for rule, labels in _paged_by(incident):
            found.append(Expected(rule, labels, begin, end, incident != HOVERING))
    return found


def score(rule: str, transitions: Iterable[Transition], incidents: Sequence[Expected]) -> Score:
    """Match `rule`'s pages (firing transitions) to the incidents meant for it."""
    mine = [e for e in incidents if e.rule == rule]
    result = Score(incidents=sum(1 for e in mine if e.must_page))
    first: set[int] = set()
    for t in sorted(transitions, key=lambda t: t.at):
        if t.rule != rule or t.change is not Change.FIRING:
            continue
        labels = dict(t.labels)
        match = next(
            (
                i
                for i, e in enumerate(mine)
                if e.start <= t.at <= e.end + GRACE
                and all(labels.get(k) == v for k, v in e.labels.items())
            ),
            None,
        )
        if match is None:
            result.false_pages += 1
            continue
        if not mine[match].must_page:
            result.hovering_pages += 1
            if match in first:
                result.flaps += 1
            first.add(match)
            continue
        if match in first:
            result.flaps += 1
            continue
        first.add(match)
        result.paged += 1
        result.delays.append((t.at - mine[match].start).total_seconds())
    return result


def _paged_by(incident: Incident) -> list[tuple[str, dict[str, str]]]:
    if isinstance(incident, SlowTable):
        return [("SlowQueryP95", {"table": incident.table})]
    if isinstance(incident, FailedQueries):
        return [("FailedQueryRate", {"table": incident.table})]
    if isinstance(incident, SlowEndpoint):
        return [("ApiResponseP95", {"endpoint": incident.endpoint})]
    if isinstance(incident, ErrorBurst):
        return [("HighErrorRate", {"endpoint": incident.endpoint})]
    if isinstance(incident, CacheDrop):
        return [("LowCacheHitRate", {})]
    if isinstance(incident, ConnectionErrors):
        return [("DatabaseConnectionErrors", {"source": incident.source})]
    return []


def _overlaps(incident: Incident, offset: dt.timedelta) -> bool:
    return incident.start < offset + BLOCK and offset < incident.end


def _thinned(points: dict[str, list[Point]], keep: int) -> dict[str, list[Point]]:
    return {
        dataset: [{**p, "sample_interval": int(p["sample_interval"]) * keep} for p in rows[::keep]]
        for dataset, rows in points.items()
    }
