"""An annotation that fails to render never costs a page, nor the tick that found it."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from alertd.engine.evaluator import Evaluator
from alertd.model import AlertState, NotifyChanges, Severity, Status, fingerprint
from alertd.notify.config import console_only
from alertd.notify.notifier import Notifier
from alertd.query.check import check_rules
from alertd.rules.ruleset import RuleSet
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


async def test_a_failing_notifier_step_still_commits_the_tick(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULE.replace('"< 1"', '"> 5"'))
    source = TableSource()
    source.series["pitchey_performance_metrics"] = {"/api/pitches": 10}
    store = MemoryStore()

    async def broken(states: Mapping[str, AlertState], at: dt.datetime) -> NotifyChanges:
        raise ZeroDivisionError("division by zero")

    evaluator = Evaluator(rules, source, store, followup=broken)
    (group,) = rules.groups
    result = await evaluator.tick(group, T0)
    assert result.transitions
    stored = await store.load()
    assert [s.rule for s in stored.values()] == ["TrafficStopped"]
