"""An annotation that fails to render never costs a page, nor the tick that found it."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.model import AlertState, NotifyChanges, Severity, Status, Transition, fingerprint
from alertd.notify.config import console_only
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.service import NotificationService
from alertd.notify.silences import Silence
from alertd.query.check import check_rules
from alertd.rules.ruleset import RuleSet
from alertd.store.commits import Commits
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource

pytestmark = pytest.mark.anyio
T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
DATASETS = Path(__file__).parents[2] / "rules" / "datasets.yaml"
RULE = """
group: api
interval: 30s
rules:
  - alert: TrafficStopped
    dataset: pitchey_performance_metrics
    value: count()
    by: [endpoint]
    window: 5m
    thresholds: {critical: "< 1"}
    annotations:
      summary: "{{ labels.endpoint }}: one request every {{ (300 / value) | round }} s"
"""


def ruleset(tmp_path: Path, rule: str = RULE) -> RuleSet:
    shutil.copy(DATASETS, tmp_path / "datasets.yaml")
    (tmp_path / "api.yaml").write_text(rule)
    loaded = check_rules([tmp_path])
    assert loaded.errors == []
    return loaded.ruleset


def stopped() -> AlertState:
    labels = (("endpoint", "/api/pitches"),)
    return AlertState(
        fingerprint("TrafficStopped", labels), "TrafficStopped", labels, Status.FIRING,
        Severity.CRITICAL, active_since=T0, firing_since=T0, last_breach=T0,
        value=0.0, samples=0,
    )  # fmt: skip


def test_a_template_dividing_by_zero_pages_with_its_source_text(tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    notifier = Notifier(console_only(), {r.name: r for r in rules.rules})
    alert = stopped()
    notifier.committed(notifier.step({alert.fingerprint: alert}, [], T0))
    (entry,) = notifier.step({alert.fingerprint: alert}, [], T0 + dt.timedelta(seconds=30)).outbox
    (shown,) = entry.notification.alerts
    assert shown.annotations["summary"].startswith("{{ labels.endpoint }}")


async def test_a_notifier_step_that_hits_a_bug_leaves_the_tick_committed_and_is_retried(
    tmp_path: Path,
) -> None:
    rules = ruleset(tmp_path, RULE.replace('"< 1"', '"> 5"'))
    source = TableSource()
    source.series["pitchey_performance_metrics"] = {"/api/pitches": 10}
    store = MemoryStore()
    clock = FakeClock(T0, autojump=False)
    commits = Commits()
    evaluator = Evaluator(rules, source, store, commits=commits)

    class FailsOnce(Notifier):
        """Hits a bug the first time it sees an alert."""

        failed = False

        def step(
            self,
            states: Mapping[str, AlertState],
            silences: Sequence[Silence],
            now: dt.datetime,
            *,
            silenced_at: dt.datetime | None = None,
            resolutions: Mapping[str, Transition] | None = None,
        ) -> NotifyChanges:
            if states and not self.failed:
                self.failed = True
                raise ZeroDivisionError("division by zero")
            return super().step(
                states, silences, now, silenced_at=silenced_at, resolutions=resolutions
            )

    notifier = FailsOnce(console_only(), {r.name: r for r in rules.rules})
    service = NotificationService(notifier, Deliverer(store, {}, clock), store, clock)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(service.run, lambda: evaluator.states, commits, dt.timedelta(0))
        await clock.advance_to(T0)
        (group,) = rules.groups
        result = await evaluator.tick(group, T0)
        await clock.advance_to(T0)  # the notifier, woken by the commit, hits the bug
        assert notifier.failed
        assert await store.load_groups() == {}
        await clock.advance_to(T0 + dt.timedelta(seconds=1))  # and tries again
        tasks.cancel_scope.cancel()
    assert result.transitions
    stored = await store.load()
    assert [s.rule for s in stored.values()] == ["TrafficStopped"]
    assert service.steps == 3  # at its start, after the commit, and the retry
    assert list(await store.load_groups()) == list(notifier.groups)
    assert notifier.groups
