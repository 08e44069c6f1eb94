import datetime as dt
from pathlib import Path

import anyio
import pytest
import structlog

from alertd.engine.backtest import backtest
from alertd.engine.evaluator import Evaluator
from alertd.engine.source_health import RULE_ALERT
from alertd.errors import QueryRejectedError, SourceError, StoreError
from alertd.model import Status, Transition
from alertd.rules.ruleset import Group, RuleSet
from alertd.store.base import Commit
from alertd.store.health import StateHealth
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import T0, make_ruleset

COUNT = """\
    value: count()
    thresholds: {critical: "> 10"}
"""
BY_TABLE = COUNT + "    by: [table]\n"
THIRTY_SECONDS = dt.timedelta(seconds=30)


def evaluator_for(ruleset: RuleSet, source: TableSource) -> tuple[Evaluator, MemoryStore]:
    store = MemoryStore()
    evaluator = Evaluator(ruleset, source, store, source_down_after=dt.timedelta(minutes=1))
    return evaluator, store


async def reload_during_tick(
    evaluator: Evaluator, source: TableSource, group: Group, reloaded: RuleSet
) -> None:
    """Tick `group` at T0 with its queries held while the rules are reloaded."""
    source.series["db"] = {"": 50}
    source.gate = anyio.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(evaluator.tick, group, T0)
        await source.asked.wait()  # the old group's queries are running
        evaluator.ruleset = reloaded
        await evaluator.retire(T0)
        source.gate.set()


def relabelled(tmp_path: Path) -> tuple[RuleSet, RuleSet, TableSource]:
    """A rule by table, the same rule reloaded with a label added, and a source on which
    it fires for table users."""
    old = make_ruleset(tmp_path / "old", BY_TABLE)
    new = make_ruleset(tmp_path / "new", BY_TABLE + "    labels: {team: db}\n")
    source = TableSource()
    source.series["db"] = {"users": 50}
    return old, new, source


def summary(transitions: list[Transition]) -> list[tuple[dt.timedelta, str, str]]:
    return [(t.at - T0, t.rule, t.change.value) for t in transitions]


@pytest.mark.anyio
async def test_a_group_slower_than_the_stale_time_still_fires_after_for(tmp_path: Path) -> None:
    ruleset = make_ruleset(tmp_path, COUNT + "    window: 5m\n    for: 30m\n", interval="15m")
    source = TableSource()
    source.series["db"] = {"": 50}
    got = await backtest(ruleset, source, T0, T0 + dt.timedelta(hours=1))
    assert summary(got) == [
        (dt.timedelta(0), "R", "pending"),
        (dt.timedelta(minutes=30), "R", "firing"),
    ]


@pytest.mark.anyio
async def test_a_source_failure_leaves_a_failing_rule_alert_firing(tmp_path: Path) -> None:
    ruleset = make_ruleset(tmp_path, COUNT)
    (group,) = ruleset.groups
    source = TableSource()
    evaluator, _ = evaluator_for(ruleset, source)
    refused = QueryRejectedError("Input was invalid", retryable=False, status=422)
    source.errors["db"] = refused
    transitions: list[Transition] = []
    for tick in range(3):  # refused for a minute: the rule alert fires
        transitions += (await evaluator.tick(group, T0 + tick * THIRTY_SECONDS)).transitions
    source.errors["db"] = SourceError("HTTP 503", retryable=True, status=503)
    transitions += (await evaluator.tick(group, T0 + 3 * THIRTY_SECONDS)).transitions
    del source.errors["db"]
    transitions += (await evaluator.tick(group, T0 + 4 * THIRTY_SECONDS)).transitions
    rule_alert = [(at, change) for at, rule, change in summary(transitions) if rule == RULE_ALERT]
    assert rule_alert == [
        (dt.timedelta(0), "pending"),
        (2 * THIRTY_SECONDS, "firing"),
        (4 * THIRTY_SECONDS, "resolved"),  # only once its query was answered
    ]


@pytest.mark.anyio
async def test_a_tick_in_flight_during_a_reload_does_not_revive_a_removed_rule(
    tmp_path: Path,
) -> None:
    ruleset = make_ruleset(tmp_path, COUNT)
    (group,) = ruleset.groups
    source = TableSource()
    evaluator, store = evaluator_for(ruleset, source)
    await reload_during_tick(evaluator, source, group, ruleset.without({"R"}))
    assert evaluator.states == {}
    assert await store.load() == {}
    assert await store.transitions() == []


@pytest.mark.anyio
async def test_a_tick_in_flight_during_a_reload_skips_a_rule_whose_definition_changed(
    tmp_path: Path,
) -> None:
    old = make_ruleset(tmp_path / "old", COUNT)
    new = make_ruleset(tmp_path / "new", COUNT.replace("> 10", "> 100"))
    source = TableSource()
    evaluator, store = evaluator_for(old, source)
    await reload_during_tick(evaluator, source, old.groups[0], new)
    assert evaluator.states == {}  # judged with the old threshold: not committed
    assert await store.load() == {}
    source.gate = None
    await evaluator.tick(new.groups[0], T0 + THIRTY_SECONDS)
    assert evaluator.states == {}  # 50 is fine under the new threshold


@pytest.mark.anyio
async def test_a_reload_that_changes_a_rules_labels_resolves_its_old_alerts(
    tmp_path: Path,
) -> None:
    old, new, source = relabelled(tmp_path)
    evaluator, store = evaluator_for(old, source)
    (fired,) = (await evaluator.tick(old.groups[0], T0)).transitions
    assert fired.labels == (("table", "users"),)
    evaluator.ruleset = new
    retired = await evaluator.retire(T0 + THIRTY_SECONDS)
    assert [(t.fingerprint, t.change.value) for t in retired.transitions] == [
        (fired.fingerprint, "resolved")
    ]
    assert retired.transitions[0].reason == "rule changed its labels"
    assert evaluator.states == {}
    assert await store.load() == {}
    (refired,) = (await evaluator.tick(new.groups[0], T0 + THIRTY_SECONDS)).transitions
    assert refired.labels == (("table", "users"), ("team", "db"))


@pytest.mark.anyio
async def test_a_reload_that_changes_a_rules_by_resolves_its_old_alerts(tmp_path: Path) -> None:
    old = make_ruleset(tmp_path / "old", BY_TABLE)
    new = make_ruleset(tmp_path / "new", COUNT)
    source = TableSource()
    source.series["db"] = {"users": 50}
    evaluator, _ = evaluator_for(old, source)
    await evaluator.tick(old.groups[0], T0)
    evaluator.ruleset = new
    retired = await evaluator.retire(T0 + THIRTY_SECONDS)
    assert [t.change.value for t in retired.transitions] == ["resolved"]
    assert evaluator.states == {}


@pytest.mark.anyio
async def test_a_reload_keeps_alerts_whose_identity_still_fits(tmp_path: Path) -> None:
    ruleset = make_ruleset(tmp_path, BY_TABLE + "    no_data: alert\n    labels: {team: db}\n")
    (group,) = ruleset.groups
    source = TableSource()
    evaluator, _ = evaluator_for(ruleset, source)
    source.series["db"] = {}  # no series at all: one alert without group labels
    (placeholder,) = (await evaluator.tick(group, T0)).transitions
    assert placeholder.labels == (("team", "db"),)
    source.series["db"] = {"users": 50}
    await evaluator.tick(group, T0 + THIRTY_SECONDS)
    source.series["db"] = {}
    await evaluator.tick(group, T0 + 2 * THIRTY_SECONDS)
    before = dict(evaluator.states)
    assert [s.status for s in before.values()] == [Status.FIRING, Status.FIRING]
    retired = await evaluator.retire(T0 + 3 * THIRTY_SECONDS)
    assert retired.transitions == []
    assert evaluator.states == before


@pytest.mark.anyio
async def test_a_tick_in_flight_during_a_reload_commits_a_rule_reloaded_unchanged(
    tmp_path: Path,
) -> None:
    old = make_ruleset(tmp_path / "old", COUNT)
    new = make_ruleset(tmp_path / "new", COUNT)  # the same rule, read from another file
    source = TableSource()
    evaluator, store = evaluator_for(old, source)
    await reload_during_tick(evaluator, source, old.groups[0], new)
    assert [s.status for s in (await store.load()).values()] == [Status.FIRING]


class UnwritableStore(MemoryStore):
    """A store whose commits fail while `full` is set, as on a full disk."""

    def __init__(self) -> None:
        super().__init__()
        self.full = True

    async def commit(self, commit: Commit) -> None:
        if self.full:
            raise StoreError("database or disk is full")
        await super().commit(commit)


@pytest.mark.anyio
async def test_a_tick_the_store_cannot_commit_moves_nothing_and_says_the_state_is_unwritable(
    tmp_path: Path,
) -> None:
    ruleset = make_ruleset(tmp_path, COUNT)
    (group,) = ruleset.groups
    source = TableSource()
    source.series["db"] = {"": 50}
    store = UnwritableStore()
    health = StateHealth()
    evaluator = Evaluator(ruleset, source, store, health=health)
    with structlog.testing.capture_logs() as logs:
        failed = await evaluator.tick(group, T0)
    assert failed.transitions == []
    assert evaluator.states == {}  # nothing moved that the store does not hold
    assert health.unwritable_since == T0
    assert [e["log_level"] for e in logs if e["event"] == "AlertdStateUnwritable.firing"] == [
        "error"
    ]
    store.full = False
    done = await evaluator.tick(group, T0 + THIRTY_SECONDS)
    assert summary(done.transitions) == [(THIRTY_SECONDS, "R", "firing")]
    assert health.writable
    assert list(await store.load()) == list(evaluator.states)


@pytest.mark.anyio
async def test_a_reload_the_store_cannot_commit_retires_the_old_alerts_at_a_later_tick(
    tmp_path: Path,
) -> None:
    old, new, source = relabelled(tmp_path)
    store = UnwritableStore()
    store.full = False
    health = StateHealth()
    evaluator = Evaluator(ruleset=old, source=source, store=store, health=health)
    (fired,) = (await evaluator.tick(old.groups[0], T0)).transitions
    store.full = True
    evaluator.ruleset = new

    # A reload goes on (its new groups are scheduled) rather than stop at the full disk.
    retired = await evaluator.retire(T0 + THIRTY_SECONDS)
    assert retired.transitions == []
    assert not health.writable
    store.full = False
    await evaluator.tick(new.groups[0], T0 + 2 * THIRTY_SECONDS)

    # The old alert is resolved once the store takes writes, not left firing for ever.
    resolved = [t for t in await store.transitions() if t.fingerprint == fired.fingerprint]
    assert [t.change.value for t in resolved] == ["firing", "resolved"]
    assert fired.fingerprint not in await store.load()
    assert health.writable
