"""A tick in which firing alerts stay as they were commits no alert state, only the
rule's evaluation; a restart then reads back what the evaluator held."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from alertd.engine.evaluator import Evaluator
from alertd.errors import SourceError, StoreError
from alertd.model import Status
from alertd.rules.loader import load
from alertd.rules.ruleset import Group, RuleSet
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore
from alertd.store.ownership import SoleOwner
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0, make_ruleset

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


class Watching(NamedTuple):
    source: TableSource
    store: RecordingStore
    evaluator: Evaluator
    group: Group


def watching(
    tmp_path: Path, series: dict[str, int], store: RecordingStore, body: str = RULE, **options: Any
) -> Watching:
    """An evaluator of rule R (`body`) over `series` of dataset db, committing to `store`."""
    ruleset = make_ruleset(tmp_path, body)
    source = TableSource()
    source.series["db"] = series
    return Watching(source, store, Evaluator(ruleset, source, store, **options), ruleset.groups[0])


async def test_a_storm_that_stays_firing_commits_no_state_and_restores_as_it_was(
    tmp_path: Path,
) -> None:
    source, store, evaluator, group = watching(
        tmp_path, {f"t{i}": 50 for i in range(20)}, RecordingStore()
    )

    for n in range(4):
        await evaluator.tick(group, T0 + n * TICK)

    first, *steady = store.commits
    assert len(first.states) == 20
    assert [(c.states, c.evaluated) for c in steady] == [((), ("R",))] * 3
    restarted = Evaluator(evaluator.ruleset, source, store)
    await restarted.restore()
    assert restarted.states == evaluator.states
    assert {s.last_eval for s in restarted.states.values()} == {T0 + 3 * TICK}


async def test_an_alert_held_by_keep_firing_for_is_written_once_when_it_clears(
    tmp_path: Path,
) -> None:
    source, store, evaluator, group = watching(tmp_path, {"users": 50}, RecordingStore())

    await evaluator.tick(group, T0)
    source.series["db"] = {"users": 5}
    for n in range(1, 4):
        await evaluator.tick(group, T0 + n * TICK)

    assert [len(c.states) for c in store.commits] == [1, 1, 0, 0]
    restarted = Evaluator(evaluator.ruleset, source, store)
    await restarted.restore()
    [state] = restarted.states.values()
    # The value is the one written when it cleared; the times are the evaluator's.
    assert state == next(iter(evaluator.states.values()))
    assert (state.last_breach, state.last_eval) == (T0, T0 + 3 * TICK)


async def test_a_rule_whose_query_failed_keeps_the_times_of_its_last_evaluation(
    tmp_path: Path,
) -> None:
    source, store, evaluator, group = watching(
        tmp_path, {"users": 50}, RecordingStore(), source_down_after=dt.timedelta(hours=1)
    )

    await evaluator.tick(group, T0)
    await evaluator.tick(group, T0 + TICK)
    source.errors["db"] = SourceError("HTTP 503", retryable=True, status=503)
    await evaluator.tick(group, T0 + 2 * TICK)

    assert store.commits[-1].evaluated == ()
    restarted = Evaluator(evaluator.ruleset, source, store)
    await restarted.restore()
    assert restarted.states == evaluator.states
    assert {s.last_eval for s in restarted.states.values() if s.rule == "R"} == {T0 + TICK}


class CommitsThenFails(RecordingStore):
    """A store that applies the next commit and then reports it failed, as a connection
    lost during COMMIT does."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_after_next = False

    async def commit(self, commit: Commit) -> None:
        await super().commit(commit)
        if self.fail_after_next:
            self.fail_after_next = False
            raise StoreError("connection lost during COMMIT")


async def test_after_a_commit_that_may_have_applied_the_next_writes_every_state(
    tmp_path: Path,
) -> None:
    body = '    value: count()\n    by: [table]\n    thresholds: {critical: "> 10"}\n'
    store = CommitsThenFails()
    source, _, evaluator, group = watching(tmp_path, {"users": 50}, store, body)

    await evaluator.tick(group, T0)
    source.series["db"] = {"users": 5}
    store.fail_after_next = True  # the resolve lands, but the evaluator hears it did not
    await evaluator.tick(group, T0 + TICK)
    source.series["db"] = {"users": 50}
    await evaluator.tick(group, T0 + 2 * TICK)

    [held] = evaluator.states.values()
    assert held.status is Status.FIRING
    assert await store.load() == evaluator.states


class SharedOwner(SoleOwner):
    """Holds every lease, as a replica does whose peers' groups are elsewhere."""

    @property
    def shared(self) -> bool:
        return True


def two_groups(folder: Path, first: str, second: str) -> RuleSet:
    """Rule R (pending for a minute) in group `first`, rule S in group `second`."""
    folder.mkdir(parents=True)
    (folder / "datasets.yaml").write_text(DATASETS)
    body = "    dataset: db\n    value: count()\n    by: [table]\n"
    (folder / "a.yaml").write_text(
        f"group: {first}\nrules:\n  - alert: R\n{body}"
        '    thresholds: {critical: "> 10"}\n    for: 1m\n'
    )
    (folder / "b.yaml").write_text(
        f'group: {second}\nrules:\n  - alert: S\n{body}    thresholds: {{critical: "> 1000"}}\n'
    )
    loaded = load([folder])
    assert loaded.errors == [], loaded.errors
    return loaded.ruleset


async def test_a_replica_that_takes_a_rule_by_reload_judges_it_as_the_store_holds_it(
    tmp_path: Path,
) -> None:
    before = two_groups(tmp_path / "before", "g1", "g2")
    after = two_groups(tmp_path / "after", "g2", "g1")  # R moves to g2
    source, store = TableSource(), MemoryStore()
    a = Evaluator(before, source, store, ownership=SharedOwner("a"))
    b = Evaluator(before, source, store, ownership=SharedOwner("b"))
    g1 = next(g for g in before.groups if g.name == "g1")

    source.series["db"] = {"users": 50}
    for n in range(3):
        await a.tick(g1, T0 + n * TICK)  # R fires
    await b.adopt()  # b reads R firing, then only ticks g2
    source.series["db"] = {"users": 5}
    await a.tick(g1, T0 + 3 * TICK)  # resolved
    source.series["db"] = {"users": 50}
    await a.tick(g1, T0 + 4 * TICK)  # pending again

    await b.reload(after, T0 + 5 * TICK)
    g2 = next(g for g in after.groups if g.name == "g2")
    await b.tick(g2, T0 + 5 * TICK)

    [r] = [s for s in b.states.values() if s.rule == "R"]
    assert r.status is Status.PENDING
    assert [s for s in (await store.load()).values() if s.rule == "R"] == [r]
