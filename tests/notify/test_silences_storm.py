"""Silences in the notifier during an alert storm: each firing alert is compared with the
few silences that can mute it, however many silences are active."""

import datetime as dt
from pathlib import Path

from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.matchers import parse_matchers
from alertd.notify.notifier import Notifier
from alertd.notify.silences import Silence
from tests.notify.counted import counted

RULES = Path(__file__).parents[2] / "rules"
T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
TABLES = 600


def firing(table: str) -> AlertState:
    labels = (("table", table), ("team", "database"))
    return AlertState(
        fingerprint("SlowQueryP95", labels), "SlowQueryP95", labels, Status.FIRING,
        Severity.WARNING, active_since=T0, firing_since=T0, last_breach=T0, value=250.0,
        samples=50,
    )  # fmt: skip


def test_a_storm_under_many_silences_compares_each_alert_with_few_of_them() -> None:
    config, errors = notify_config([RULES])
    assert errors == []
    assert config is not None
    notifier = Notifier(config, {})
    alerts = [firing(f"t{i}") for i in range(TABLES)]
    states = {s.fingerprint: s for s in alerts}
    # One silence for every other table, as a deploy touching half the tables would ask.
    asked: list[None] = []
    silences = [
        Silence(
            f"s{i}",
            counted(parse_matchers(f'alertname="SlowQueryP95", table="t{i}"'), asked),
            T0,
            T0 + dt.timedelta(hours=1),
            "ana",
            "migrating",
        )
        for i in range(0, TABLES, 2)
    ]
    asked.clear()  # a silence checks its matchers when it is made

    notifier.committed(notifier.step(states, silences, T0))
    first_step = len(asked)
    changes = notifier.step(states, silences, T0 + dt.timedelta(minutes=1))

    notified = {a.fingerprint for e in changes.outbox for a in e.notification.alerts}
    assert notified == {s.fingerprint for s in alerts[1::2]}
    # Each alert meets only the silence filed under its own table (two matchers), never
    # every silence in turn.
    bound = 2 * len(alerts)
    assert first_step <= bound
    assert len(asked) - first_step <= bound
