"""What notifications say of an alert: the value now, why a clear-looking value still
fires, and what a resolve quotes, on the shipped SlowQueryP95 rule (warning > 150 ms,
critical > 200 ms, recover < 130 ms, keep_firing_for 1m)."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.model import AlertState, Change, Severity, Status, Transition, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.receivers import render
from alertd.notify.service import NotificationService
from alertd.notify.snapshots import ended, firing_note, links, snapshot
from alertd.query.check import check_rules
from alertd.rules.ruleset import Rule
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
RULES = Path(__file__).parents[2] / "rules"
T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
LABELS = (("table", "users"), ("team", "database"))
FP = fingerprint("SlowQueryP95", LABELS)


def rules() -> dict[str, Rule]:
    return {r.name: r for r in check_rules([RULES]).ruleset.rules}


def slow(
    value: float | None, severity: Severity = Severity.WARNING, **times: dt.datetime
) -> AlertState:
    return AlertState(
        FP, "SlowQueryP95", LABELS, Status.FIRING, severity, active_since=T0, firing_since=T0,
        last_breach=times.get("last_breach", T0), last_eval=times.get("last_eval", T0),
        last_seen=times.get("last_seen", T0), value=value, samples=300,
    )  # fmt: skip


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_firing_value_above_its_threshold_needs_no_note() -> None:
    assert firing_note(slow(157.3), rules()["SlowQueryP95"]) == ""


def test_a_value_back_under_the_threshold_says_it_is_recovering_and_where_it_resolves() -> None:
    rule = rules()["SlowQueryP95"]
    held = slow(130.57, last_breach=at(0), last_eval=at(120))

    assert firing_note(held, rule) == "recovering: 130.57 ms, resolves below 130 ms"
    assert render.headline(snapshot(held, rule, "> 150 ms")) == (
        "SlowQueryP95 · warning · 130.57 ms (threshold > 150 ms)"
        " · recovering: 130.57 ms, resolves below 130 ms"
    )


def test_a_clear_value_held_by_keep_firing_for_says_until_when() -> None:
    held = slow(95.0, last_breach=at(0), last_eval=at(30))

    assert firing_note(held, rules()["SlowQueryP95"]) == (
        "kept firing until 10:01:00 UTC after clearing"
    )


def test_a_critical_alert_steadied_by_recover_says_where_it_steps_down() -> None:
    held = slow(190.0, Severity.CRITICAL)

    assert firing_note(held, rules()["SlowQueryP95"]) == (
        "holding critical: 190 ms, steps down below 180 ms"
    )


def test_a_firing_alert_without_data_says_since_when() -> None:
    held = slow(None, last_breach=at(0), last_seen=at(0), last_eval=at(30))

    assert firing_note(held, rules()["SlowQueryP95"]) == (
        "no data since 10:00:00 UTC; kept firing until 10:01:00 UTC after clearing"
    )


def test_runbook_dashboard_and_listed_annotations_become_links_only_when_urls() -> None:
    rule = rules()["SlowQueryP95"]
    annotations = {
        "runbook_url": "https://runbooks.example/slow",
        "dashboard_url": "not a url",
        "query_log": "http://dash.example/q?table=users",
        "summary": "https://not.a.link.example",
    }

    assert links(rule, annotations) == (
        ("Runbook", "https://runbooks.example/slow"),
        ("Query log", "http://dash.example/q?table=users"),
    )


def test_a_resolve_quotes_the_value_at_resolution_the_last_firing_value_and_last_severity() -> None:
    rule = rules()["SlowQueryP95"]
    first = snapshot(slow(545.85, Severity.CRITICAL), rule, "> 200 ms")
    last_firing = snapshot(slow(140.2), rule, "> 150 ms")
    resolution = Transition(
        at(300), FP, "SlowQueryP95", LABELS, Change.RESOLVED, Status.FIRING, Status.INACTIVE,
        Severity.WARNING, Severity.WARNING, 104.4,
    )  # fmt: skip

    shown = ended(first, resolution, last_firing, rule, at(300))

    assert (shown.value, shown.last_value, shown.severity) == (104.4, 140.2, Severity.WARNING)
    assert shown.annotations["summary"] == "P95 query time on users is 104.4 ms"
    assert render.headline(shown) == (
        "SlowQueryP95 · resolved (was warning) · 104.4 ms at resolution · last firing 140.2 ms"
    )


async def test_the_notifier_reads_the_resolving_value_from_the_stored_transitions() -> None:
    config, errors = notify_config([RULES])
    assert errors == []
    assert config is not None
    store = MemoryStore()
    clock = FakeClock(T0)
    notifier = Notifier(config, rules(), status_url="https://alertd.example")
    service = NotificationService(notifier, Deliverer(store, {}, clock), store, clock)
    await service.flush({FP: slow(545.85, Severity.CRITICAL)}, at(0))
    await service.flush({FP: slow(545.85, Severity.CRITICAL)}, at(30))  # group_wait
    stepped_down = slow(140.2, last_breach=at(60), last_eval=at(60))
    await service.flush({FP: stepped_down}, at(60))
    resolution = Transition(
        at(90), FP, "SlowQueryP95", LABELS, Change.RESOLVED, Status.FIRING, Status.INACTIVE,
        Severity.WARNING, Severity.WARNING, 104.4,
    )  # fmt: skip
    await store.commit(Commit(at=at(90), group="database", transitions=(resolution,)))

    changes = await service.flush({}, at(90))

    (entry,) = changes.outbox
    (alert,) = entry.notification.alerts
    assert not alert.firing
    assert (alert.value, alert.last_value, alert.severity) == (104.4, 140.2, Severity.WARNING)
    assert dict(alert.labels)["severity"] == "warning"
    assert render.alert_url(entry.notification, alert) == f"https://alertd.example/alerts/{FP}"


def test_a_resolve_without_its_transition_does_not_pass_off_an_old_value_as_current() -> None:
    rule = rules()["SlowQueryP95"]
    first = snapshot(slow(545.85, Severity.CRITICAL), rule, "> 200 ms")

    shown = ended(first, None, None, rule, at(300))

    assert shown.value is None
    assert render.headline(shown) == (
        "SlowQueryP95 · resolved (was critical) · last firing 545.85 ms"
    )
    assert dataclasses.replace(shown, note="") == shown
