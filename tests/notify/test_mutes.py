"""Muted alerts leave a trace: one log line per change, naming the silence or the alert
that inhibits them, on the shipped notification file."""

import datetime as dt
from pathlib import Path

from structlog.testing import capture_logs

from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.matchers import parse_matcher
from alertd.notify.notifier import Notifier
from alertd.notify.silences import Silence
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


def muted(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in logs if str(e["event"]).startswith("notification.")]


def test_a_silenced_alert_is_logged_once_with_the_silence_id() -> None:
    n = notifier()
    state = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    until = T0 + dt.timedelta(hours=1)
    silence = Silence("s-42", (parse_matcher('table="users"'),), T0, until, "me", "deploy")
    states = {state.fingerprint: state}

    with capture_logs() as logs:
        n.committed(n.step(states, [silence], T0))
        n.committed(n.step(states, [silence], T0 + dt.timedelta(seconds=30)))
        n.committed(n.step(states, [], T0 + dt.timedelta(seconds=60)))

    assert muted(logs) == [
        {
            "event": "notification.muted",
            "log_level": "info",
            "alert": 'SlowQueryP95{severity="critical", table="users", team="database"}',
            "fingerprint": state.fingerprint,
            "silence": "s-42",
            "inhibited_by": None,
        },
        {
            "event": "notification.unmuted",
            "log_level": "info",
            "alert": 'SlowQueryP95{severity="critical", table="users", team="database"}',
            "fingerprint": state.fingerprint,
            "was": "silenced by s-42",
        },
    ]


def test_an_inhibited_alert_is_logged_with_the_alert_that_inhibits_it() -> None:
    n = notifier()
    critical = firing("SlowQueryP95", Severity.CRITICAL, table="users", team="database")
    warning = firing("FailedQueryRate", Severity.WARNING, table="users", team="database")
    states = {s.fingerprint: s for s in (critical, warning)}

    with capture_logs() as logs:
        n.committed(n.step(states, [], T0))
        n.committed(n.step(states, [], T0 + dt.timedelta(seconds=30)))

    (line,) = muted(logs)
    assert line["fingerprint"] == warning.fingerprint
    assert line["inhibited_by"] == (
        'SlowQueryP95{severity="critical", table="users", team="database"}'
    )
