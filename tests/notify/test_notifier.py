"""The notifier on the shipped notification file: silence, inhibit, route, group, outbox."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.model import AlertState, Severity, SilenceRecord, Status, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.config import load_notify
from alertd.notify.delivery import Deliverer
from alertd.notify.matchers import parse_matcher
from alertd.notify.notifier import Notifier
from alertd.notify.service import NotificationService
from alertd.notify.silences import Silence
from alertd.notify.snapshots import snapshot, threshold_text
from alertd.query.check import check_rules
from alertd.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
RULES = Path(__file__).parents[2] / "rules"
T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)


def firing(rule: str, severity: Severity, **labels: str) -> AlertState:
    pairs = tuple(sorted(labels.items()))
    return AlertState(
        fingerprint(rule, pairs), rule, pairs, Status.FIRING, severity,
        active_since=T0, firing_since=T0, last_breach=T0, value=250.0, samples=50,
    )  # fmt: skip


def notifier() -> Notifier:
    config, errors = notify_config([RULES])
    assert errors == []
    assert config is not None
    return Notifier(config, {r.name: r for r in check_rules([RULES]).ruleset.rules})


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_firing_alerts_reach_the_console_after_group_wait_with_rendered_annotations() -> None:
    n = notifier()
    states = {
        s.fingerprint: s
        for s in [firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")]
    }
    assert not n.step(states, [], at(0)).outbox
    n.committed(n.step(states, [], at(0)))
    changes = n.step(states, [], at(30))
    (entry,) = changes.outbox
    assert entry.notification.receiver == "console"
    (alert,) = entry.notification.alerts
    assert alert.annotations["summary"] == "P95 query time on users is 250.0 ms"
    assert alert.threshold == "> 200 ms"
    assert entry.expires_at > entry.next_attempt_at == at(30)


def test_a_silenced_alert_is_held() -> None:
    n = notifier()
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    silence = Silence("s1", (parse_matcher('table="users"'),), T0, at(3600), "oncall", "deploy")
    n.committed(n.step({state.fingerprint: state}, [silence], at(0)))
    assert not n.step({state.fingerprint: state}, [silence], at(60)).outbox


def test_a_critical_alert_inhibits_warnings_about_the_same_table() -> None:
    n = notifier()
    critical = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    warning = firing("FailedQueryRate", Severity.WARNING, table="users", team="database")
    other = firing("FailedQueryRate", Severity.WARNING, table="ndas", team="database")
    states = {s.fingerprint: s for s in (critical, warning, other)}
    n.committed(n.step(states, [], at(0)))
    sent = n.step(states, [], at(30)).outbox
    shown = {(a.rule, dict(a.labels)["table"]) for e in sent for a in e.notification.alerts}
    assert shown == {("SlowQueryP95", "users"), ("FailedQueryRate", "ndas")}


def test_an_alert_without_a_value_shows_so_in_words_not_a_template() -> None:
    rules = {r.name: r for r in check_rules([RULES]).ruleset.rules}
    errors = firing("HighErrorRate", Severity.CRITICAL, endpoint="/api", team="platform")
    errors = dataclasses.replace(errors, value=None)
    connections = firing("DatabaseConnectionErrors", Severity.WARNING, source="neon-pool")
    connections = dataclasses.replace(connections, value=None)

    shown = {
        s.rule: s.annotations["summary"]
        for s in (
            snapshot(state, rules[state.rule], threshold_text(rules[state.rule], state))
            for state in (errors, connections)
        )
    }

    assert shown == {
        "HighErrorRate": "HighErrorRate: no data for this series in the last 5m",
        "DatabaseConnectionErrors": "0 database connection errors from neon-pool in 5m",
    }


def test_a_step_for_an_earlier_instant_is_taken_at_the_latest_time_seen() -> None:
    n = notifier()
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    n.committed(n.step({state.fingerprint: state}, [], at(0)))
    later = n.step({state.fingerprint: state}, [], at(45))
    n.committed(later)
    (trigger,) = later.outbox
    # A slow tick for t=40 commits after the step at t=45 and resolves the alert: its
    # resolve must not be stamped before the trigger, or the outbox would send it first.
    (resolve,) = n.step({}, [], at(40)).outbox
    assert not resolve.notification.firing
    assert resolve.notification.created_at >= trigger.notification.created_at


def test_a_receiver_without_an_integration_gets_nothing_queued(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "receivers:\n  - name: discard\nroute:\n  receiver: discard\n  group_wait: 0s\n"
    )
    config, errors = load_notify(path, {})
    assert errors == []
    assert config is not None
    n = Notifier(config, {r.name: r for r in check_rules([RULES]).ruleset.rules})
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    changes = n.step({state.fingerprint: state}, [], at(0))
    assert changes.groups  # grouped as usual, so a later resolve is not mistaken for news
    assert changes.outbox == ()


async def test_a_silence_added_now_holds_at_once_though_evaluation_runs_behind() -> None:
    clock = FakeClock(at(600))
    store = MemoryStore()
    n = notifier()
    service = NotificationService(n, Deliverer(store, {}, clock), store, clock)
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    states = {state.fingerprint: state}
    record = SilenceRecord(
        "s1", ('table="users"',), clock.now(), clock.now() + dt.timedelta(hours=1), "me", "db"
    )
    await store.add_silence(record)
    evaluated_at = at(540)  # the evaluation delay: a minute behind the wall clock
    n.committed(await service.decide(states, evaluated_at))
    assert not (await service.decide(states, evaluated_at + dt.timedelta(seconds=30))).outbox


def test_a_resolve_is_queued_for_a_receiver_whose_secret_is_unset_for_now() -> None:
    env = {"PAGERDUTY_ROUTING_KEY": "0123456789abcdef0123456789abcdef"}
    with_key, _ = load_notify(RULES / "notify.yaml", env)
    without_key, _ = load_notify(RULES / "notify.yaml", {})
    assert with_key is not None
    assert without_key is not None
    rules = {r.name: r for r in check_rules([RULES]).ruleset.rules}
    before = Notifier(with_key, rules)
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    before.committed(before.step({state.fingerprint: state}, [], at(0)))
    paged = before.step({state.fingerprint: state}, [], at(30))
    before.committed(paged)
    assert "pagerduty" in {e.notification.receiver for e in paged.outbox}
    # A restart with the key unset: the alert resolves meanwhile. Its resolve waits in
    # the outbox behind the trigger, for the key to come back.
    after = Notifier(without_key, rules)
    after.groups = dict(before.groups)
    resolved = after.step({}, [], at(60))
    assert ("pagerduty", False) in {
        (e.notification.receiver, e.notification.firing) for e in resolved.outbox
    }


def test_each_integration_of_an_alertmanager_receiver_gets_its_notification(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "receivers:\n"
        "  - name: team\n"
        "    webhook_configs: [{url: 'https://a.test/in'}, {url: 'https://b.test/in'}]\n"
        "    slack_configs: [{api_url: 'https://hooks.test/s'}]\n"
        "route:\n  receiver: team\n  group_wait: 0s\n  group_by: [alertname]\n"
    )
    config, errors = load_notify(path, {})
    assert errors == []
    assert config is not None
    n = Notifier(config, {r.name: r for r in check_rules([RULES]).ruleset.rules})
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    changes = n.step({state.fingerprint: state}, [], at(0))
    assert sorted((e.notification.receiver, e.notification.group_key) for e in changes.outbox) == [
        ("team", '{}:{alertname="SlowQueryP95"}'),
        ("team#2", '{}|team#2:{alertname="SlowQueryP95"}'),
        ("team#3", '{}|team#3:{alertname="SlowQueryP95"}'),
    ]
