"""The notifier takes an alert's evidence from the store: the firing quotes the rows that
made the breach significant (kept with the alert's state), the resolve those that showed
the series quiet (kept with its resolving transition, as a resolved alert has no state)."""

import datetime as dt
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.model import AlertState, Change, Severity, Status, Transition, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.service import NotificationService
from alertd.query.check import check_rules
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
RULES = Path(__file__).parents[2] / "rules"
T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
LABELS = (("table", "users"), ("team", "database"))
FP = fingerprint("SlowQueryP95", LABELS)
FIRED = "p95(duration) 152 ms > 150 ms: 61 of 480 sampled rows above 150 ms, 95 % confident"
QUIET = "p95(duration) 96 ms < 130 ms: 2 of 400 sampled rows above 130 ms, 95 % confident"
FIRING = AlertState(
    FP, "SlowQueryP95", LABELS, Status.FIRING, Severity.WARNING, active_since=T0,
    firing_since=T0, last_breach=T0, last_eval=T0, last_seen=T0, value=152.0, samples=480,
    evidence=FIRED,
)  # fmt: skip


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def service() -> NotificationService:
    config, errors = notify_config([RULES])
    assert errors == []
    assert config is not None
    store = MemoryStore()
    clock = FakeClock(T0)
    notifier = Notifier(config, {r.name: r for r in check_rules([RULES]).ruleset.rules})
    return NotificationService(notifier, Deliverer(store, {}, clock), store, clock)


def resolution(reason: str) -> Transition:
    return Transition(
        at(60), FP, "SlowQueryP95", LABELS, Change.RESOLVED, Status.FIRING, Status.INACTIVE,
        Severity.WARNING, Severity.WARNING, 96.0, reason=reason,
    )  # fmt: skip


async def test_the_firing_and_the_resolve_each_state_their_own_evidence_once() -> None:
    notify = service()
    await notify.flush({FP: FIRING}, at(0))
    (fired,) = (await notify.flush({FP: FIRING}, at(30))).outbox  # after group_wait
    await notify.store.commit(Commit(at=at(60), group="database", transitions=(resolution(QUIET),)))

    (resolved,) = (await notify.flush({}, at(60))).outbox

    assert [a.evidence for a in fired.notification.alerts] == [FIRED]
    (alert,) = resolved.notification.alerts
    assert (alert.firing, alert.evidence, alert.note) == (False, QUIET, "")


async def test_a_resolve_for_want_of_data_states_why_and_no_evidence() -> None:
    notify = service()
    await notify.flush({FP: FIRING}, at(0))
    await notify.flush({FP: FIRING}, at(30))
    why = "no data since 2026-11-28T10:00:00+00:00"
    await notify.store.commit(Commit(at=at(60), group="database", transitions=(resolution(why),)))

    (resolved,) = (await notify.flush({}, at(60))).outbox

    (alert,) = resolved.notification.alerts
    assert (alert.evidence, alert.note) == ("", why)
