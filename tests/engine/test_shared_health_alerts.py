"""Alerts that replicas on PostgreSQL share. alertd's own alerts about a dataset: two
groups read it, each ticked by another replica, and the alert is still written by one
alone, under its owner group's lease. Retirement: the leader ends the alerts of a removed
rule that another replica ticked, as the store holds them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.source_health import SOURCE_ALERT, dataset_owners
from alertd.errors import SourceError
from alertd.model import Status
from alertd.rules.loader import load
from alertd.rules.ruleset import RuleSet
from alertd.store.leases import LeaseKeeper
from alertd.store.ownership import NOTIFY_LEASE, group_lease
from alertd.store.postgres import PostgresStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0

pytestmark = pytest.mark.anyio

RULE = """\
group: {group}
interval: {interval}
rules:
  - alert: R_{group}
    dataset: db
    value: count()
    thresholds: {{critical: "> 10"}}
"""


def two_groups(folder: Path, fast: str = "30s", slow: str = "30s") -> RuleSet:
    """Groups `g1` and `g2`, each a rule on dataset `db`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "datasets.yaml").write_text(DATASETS)
    (folder / "g1.yaml").write_text(RULE.format(group="g1", interval=slow))
    (folder / "g2.yaml").write_text(RULE.format(group="g2", interval=fast))
    result = load([folder])
    assert result.errors == [], result.errors
    return result.ruleset


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[list[PostgresStore]]:
    opened = [await PostgresStore.open(pg_url) for _ in range(3)]
    yield opened
    for store in opened:
        await store.aclose()


async def split(keepers: list[LeaseKeeper]) -> None:
    """Beat until each of three replicas holds one lease: the leader's, g1's or g2's."""
    for _ in range(5):
        for keeper in keepers:
            await keeper.beat()
    held = sorted(name for k in keepers for name in k.held())
    assert held == [group_lease("g1"), group_lease("g2"), NOTIFY_LEASE]
    assert all(len(k.held()) == 1 for k in keepers)


async def test_two_replicas_ticking_groups_on_one_failing_dataset_write_its_alert_once(
    tmp_path: Path, stores: list[PostgresStore]
) -> None:
    ruleset = two_groups(tmp_path)
    source = TableSource()
    source.errors["db"] = SourceError("HTTP 503", retryable=True, status=503)
    clock = FakeClock(T0)
    keepers = await replicas_sharing(stores, clock)
    # The two replicas holding a group tick it, as their schedulers would.
    replicas = [
        (
            Evaluator(
                ruleset, source, store, source_down_after=dt.timedelta(minutes=1), ownership=keeper
            ),
            group,
        )
        for store, keeper in zip(stores, keepers, strict=True)
        for group in ruleset.groups
        if keeper.token(group_lease(group.name)) is not None
    ]
    assert len(replicas) == 2
    for seconds in range(0, 121, 30):
        for evaluator, group in replicas:
            await evaluator.tick(group, T0 + dt.timedelta(seconds=seconds))

    changes = [
        (t.at - T0, t.change.value)
        for t in await stores[0].transitions(since=T0)
        if t.rule == SOURCE_ALERT
    ]
    # Pending at the first failure, firing a minute on: once each, by g1's replica
    # (the groups tick equally often; g1 comes first by name).
    assert changes == [(dt.timedelta(0), "pending"), (dt.timedelta(seconds=60), "firing")]


async def replicas_sharing(stores: list[PostgresStore], clock: FakeClock) -> list[LeaseKeeper]:
    """One lease keeper per store (replicas a, b, c), the groups g1 and g2 split between them."""
    keepers = [
        store.lease_keeper(clock, seconds=30, replica=name)
        for store, name in zip(stores, ("a", "b", "c"), strict=True)
    ]
    for keeper in keepers:
        keeper.want(["g1", "g2"])
    await split(keepers)
    return keepers


def test_a_datasets_alerts_belong_to_the_group_reading_it_most_often(tmp_path: Path) -> None:
    assert dataset_owners(two_groups(tmp_path / "same").groups) == {"db": "g1"}
    assert dataset_owners(two_groups(tmp_path / "g2", fast="10s").groups) == {"db": "g2"}


async def test_the_leader_retires_a_removed_rules_alert_that_another_replica_ticked(
    tmp_path: Path, stores: list[PostgresStore]
) -> None:
    ruleset = two_groups(tmp_path)
    source = TableSource()
    source.series["db"] = {"": 50}  # both rules fire at their first tick
    clock = FakeClock(T0)
    keepers = await replicas_sharing(stores, clock)
    evaluators = {
        keeper.held()[0]: Evaluator(ruleset, source, store, ownership=keeper)
        for store, keeper in zip(stores, keepers, strict=True)
    }
    for group in ruleset.groups:
        await evaluators[group_lease(group.name)].tick(group, T0)
    leader = evaluators[NOTIFY_LEASE]
    assert leader.states == {}  # it ticks no group: it never saw these alerts

    await leader.reload(ruleset.without({"R_g2"}), T0 + dt.timedelta(seconds=30))

    ended = [(t.rule, t.change.value, t.reason) for t in await stores[0].transitions(since=T0)]
    assert ("R_g2", "resolved", "rule removed") in ended
    statuses = {s.rule: s.status for s in (await stores[0].load()).values()}
    assert statuses == {"R_g1": Status.FIRING}  # the ended alert is gone from the store
