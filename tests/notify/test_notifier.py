"""The notifier on the shipped notification file: silence, inhibit, route, group, outbox."""

import dataclasses
import datetime as dt
from pathlib import Path

from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.matchers import parse_matcher
from alertd.notify.notifier import Notifier
from alertd.notify.silences import Silence
from alertd.notify.snapshots import snapshot, threshold_text
from alertd.query.check import check_rules

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
    assert alert.threshold == "> 200"
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
