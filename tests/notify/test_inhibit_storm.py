"""Inhibition in the notifier during an alert storm: the shipped inhibit rule checks each
firing alert a bounded number of times, however many others fire with it."""

import dataclasses
import datetime as dt
from pathlib import Path

from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.notifier import Notifier
from tests.notify.counted import counted

RULES = Path(__file__).parents[2] / "rules"
T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
TABLES = 600


def firing(rule: str, severity: Severity, table: str) -> AlertState:
    labels = (("table", table), ("team", "database"))
    return AlertState(
        fingerprint(rule, labels), rule, labels, Status.FIRING, severity,
        active_since=T0, firing_since=T0, last_breach=T0, value=250.0, samples=50,
    )  # fmt: skip


def test_a_storm_checks_each_firing_alert_a_bounded_number_of_times() -> None:
    config, errors = notify_config([RULES])
    assert errors == []
    assert config is not None
    assert config.inhibit_rules, "the shipped file inhibits warnings under criticals"
    asked: list[None] = []
    rules = tuple(
        dataclasses.replace(r, source=counted(r.source, asked), target=counted(r.target, asked))
        for r in config.inhibit_rules
    )
    notifier = Notifier(dataclasses.replace(config, inhibit_rules=rules), {})
    # A warning on every table, and a critical on every other table, which mutes its warning.
    warnings = [firing("SlowQueryP95", Severity.WARNING, f"t{i}") for i in range(TABLES)]
    criticals = [firing("FailedQueryRate", Severity.CRITICAL, f"t{i}") for i in range(0, TABLES, 2)]
    states = {s.fingerprint: s for s in [*warnings, *criticals]}

    notifier.committed(notifier.step(states, [], T0))
    first_step = len(asked)
    changes = notifier.step(states, [], T0 + dt.timedelta(minutes=1))

    notified = {a.fingerprint for e in changes.outbox for a in e.notification.alerts}
    assert notified == {s.fingerprint for s in [*warnings[1::2], *criticals]}
    # Each alert is looked at as a possible source and as a possible target: at most two
    # matchers each time per rule, never once per pair of alerts.
    bound = 4 * len(states) * len(rules)
    assert first_step <= bound
    assert len(asked) - first_step <= bound
