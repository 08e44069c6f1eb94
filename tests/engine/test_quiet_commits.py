"""A tick in which firing alerts stay as they were commits no alert state, only the
rule's evaluation; a restart then reads back what the evaluator held."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alertd.engine.evaluator import Evaluator
from alertd.errors import SourceError
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import T0, make_ruleset

pytestmark = pytest.mark.anyio

RULE = """\
    value: count()
    by: [table]
    thresholds: {critical: "> 10"}
    keep_firing_for: 5m
"""
TICK = dt.timedelta(seconds=30)


class RecordingStore(MemoryStore):
    """A memory store that keeps every commit it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[Commit] = []

    async def commit(self, commit: Commit) -> None:
        await super().commit(commit)
        self.commits.append(commit)


async def test_a_storm_that_stays_firing_commits_no_state_and_restores_as_it_was(
    tmp_path: Path,
) -> None:
    ruleset = make_ruleset(tmp_path, RULE)
    source = TableSource()
    source.series["db"] = {f"t{i}": 50 for i in range(20)}
    store = RecordingStore()
    evaluator = Evaluator(ruleset, source, store)
    group = ruleset.groups[0]

    for n in range(4):
        await evaluator.tick(group, T0 + n * TICK)

    first, *steady = store.commits
    assert len(first.states) == 20
    assert [(c.states, c.evaluated) for c in steady] == [((), ("R",))] * 3
    restarted = Evaluator(ruleset, source, store)
    await restarted.restore()
    assert restarted.states == evaluator.states
    assert {s.last_eval for s in restarted.states.values()} == {T0 + 3 * TICK}


async def test_an_alert_held_by_keep_firing_for_is_written_once_when_it_clears(
    tmp_path: Path,
) -> None:
    ruleset = make_ruleset(tmp_path, RULE)
    source = TableSource()
    source.series["db"] = {"users": 50}
    store = RecordingStore()
    evaluator = Evaluator(ruleset, source, store)
    group = ruleset.groups[0]

    await evaluator.tick(group, T0)
    source.series["db"] = {"users": 5}
    for n in range(1, 4):
        await evaluator.tick(group, T0 + n * TICK)

    assert [len(c.states) for c in store.commits] == [1, 1, 0, 0]
    restarted = Evaluator(ruleset, source, store)
    await restarted.restore()
    [state] = restarted.states.values()
    # The value is the one written when it cleared; the times are the evaluator's.
    assert state == next(iter(evaluator.states.values()))
    assert (state.last_breach, state.last_eval) == (T0, T0 + 3 * TICK)


async def test_a_rule_whose_query_failed_keeps_the_times_of_its_last_evaluation(
    tmp_path: Path,
) -> None:
    ruleset = make_ruleset(tmp_path, RULE)
    source = TableSource()
    source.series["db"] = {"users": 50}
    store = RecordingStore()
    evaluator = Evaluator(ruleset, source, store, source_down_after=dt.timedelta(hours=1))
    group = ruleset.groups[0]

    await evaluator.tick(group, T0)
    await evaluator.tick(group, T0 + TICK)
    source.errors["db"] = SourceError("HTTP 503", retryable=True, status=503)
    await evaluator.tick(group, T0 + 2 * TICK)

    assert store.commits[-1].evaluated == ()
    restarted = Evaluator(ruleset, source, store)
    await restarted.restore()
    assert restarted.states == evaluator.states
    assert {s.last_eval for s in restarted.states.values() if s.rule == "R"} == {T0 + TICK}
