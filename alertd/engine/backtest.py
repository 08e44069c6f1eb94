"""Replay rules over history: the live evaluation path, driven by a grid instead of a clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
from collections.abc import Awaitable, Callable, Iterator

from alertd.engine.evaluator import Evaluator
from alertd.engine.timing import grid
from alertd.model import Transition
from alertd.rules.ruleset import Group, RuleSet
from alertd.sources.base import Source
from alertd.sources.declared import RecordSources
from alertd.store.base import Store
from alertd.store.memory import MemoryStore


def ticks(
    groups: tuple[Group, ...], start: dt.datetime, end: dt.datetime, step: dt.timedelta | None
) -> Iterator[tuple[dt.datetime, Group]]:
    """Every (time, group) the daemon would have evaluated in [start, end], in time order.

    Each group ticks on its own interval's grid, as `alertd run` does; `step` replaces
    every interval when given, in the groups yielded too, since the lifecycle's timing
    depends on how often a group is judged.
    """
    streams = [_stream(index, group, start, end, step) for index, group in enumerate(groups)]
    for at, _, group in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        yield at, group


def _stream(
    index: int, group: Group, start: dt.datetime, end: dt.datetime, step: dt.timedelta | None
) -> Iterator[tuple[dt.datetime, int, Group]]:
    if step is not None:
        group = dataclasses.replace(group, interval=step)
    for at in grid(start, end, group.interval):
        yield at, index, group


_JUST_BEFORE = dt.timedelta(microseconds=1)

# Sees the alert states once the ticks of an instant are committed, with its time (ticked),
# the states just before each instant's ticks (not ticked), and the replay's end.
After = Callable[[Evaluator, dt.datetime, bool], Awaitable[None]]


class Instants:
    """Calls `after` once every group due at an instant has ticked: a notification step
    between two groups' ticks of one instant would page on states half of which are a
    tick old (a FIRING just before the RESOLVED of the same instant). Timers that expire
    before an instant are caught up before its ticks, on the states as they were then, as
    the daemon's notifier would."""

    def __init__(self, evaluator: Evaluator, after: After | None) -> None:
        self.evaluator = evaluator
        self.after = after
        self.ticked: dt.datetime | None = None

    async def before_tick(self, at: dt.datetime) -> None:
        if self.after is not None and at != self.ticked:
            if self.ticked is not None:
                await self.after(self.evaluator, self.ticked, True)
            await self.after(self.evaluator, at - _JUST_BEFORE, False)
        self.ticked = at

    async def end(self, end: dt.datetime) -> None:
        if self.after is None:
            return
        if self.ticked is not None:
            await self.after(self.evaluator, self.ticked, True)
        await self.after(self.evaluator, end, False)


async def backtest(
    ruleset: RuleSet,
    source: Source,
    start: dt.datetime,
    end: dt.datetime,
    *,
    step: dt.timedelta | None = None,
    emit: Callable[[Transition], None] = lambda _: None,
    source_down_after: dt.timedelta = dt.timedelta(minutes=5),
    store: Store | None = None,
    after: After | None = None,
    declared: RecordSources | None = None,
) -> list[Transition]:
    """Every transition the rules make over [start, end]; nothing is sent anywhere.

    `after` sees the alert states each tick committed, as the daemon's notifier does.
    """
    evaluator = Evaluator(
        ruleset,
        source,
        store or MemoryStore(),
        source_down_after=source_down_after,
        declared=declared,
    )
    transitions: list[Transition] = []
    instants = Instants(evaluator, after)
    for at, group in ticks(ruleset.groups, start, end, step):
        await instants.before_tick(at)
        result = await evaluator.tick(group, at)
        for transition in result.transitions:
            emit(transition)
            transitions.append(transition)
    await instants.end(end)
    return transitions
