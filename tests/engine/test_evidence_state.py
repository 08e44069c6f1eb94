"""An alert's state keeps what the sampled rows said at its last notified change: the
firing or a change of severity; ticks in between leave it as it was. A resolved alert's
state leaves the store: its transition's reason says what the rows said."""

from __future__ import annotations

import datetime as dt

from alertd.engine.lifecycle import Policy, advance
from alertd.engine.verdict import Condition, Verdict
from alertd.model import AlertState, Change, Severity, Status

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
POLICY = Policy(
    for_=dt.timedelta(0),
    keep_firing_for=dt.timedelta(0),
    no_data="keep",
    stale_after=dt.timedelta(minutes=10),
)
FIRED = "p95(duration) 152 ms > 150 ms: 61 of 480 sampled rows above 150 ms, 95 % confident"
LATER = "p95(duration) 158 ms > 150 ms: 70 of 470 sampled rows above 150 ms, 95 % confident"
WORSE = "p95(duration) 230 ms > 200 ms: 90 of 460 sampled rows above 200 ms, 95 % confident"
QUIET = "p95(duration) 96 ms < 150 ms: 2 of 400 sampled rows above 150 ms, 95 % confident"


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def breach(severity: Severity, evidence: str | None) -> Verdict:
    return Verdict(Condition.BREACH, severity, 152.0, 480, "> 150", evidence)


def test_the_firing_evidence_stays_until_the_next_change_and_the_resolve_states_its_own() -> None:
    state = AlertState("fp", "SlowQueryP95", (("table", "users"),), Status.INACTIVE)

    fired, change = advance(state, breach(Severity.WARNING, FIRED), POLICY, at(0))
    assert change is not None
    assert change.change is Change.FIRING
    assert fired.evidence == FIRED

    held, change = advance(fired, breach(Severity.WARNING, LATER), POLICY, at(1))
    assert change is None
    assert held.evidence == FIRED  # no change to notify: the row's evidence is not rewritten

    worse, change = advance(held, breach(Severity.CRITICAL, WORSE), POLICY, at(2))
    assert change is not None
    assert change.change is Change.ESCALATED
    assert worse.evidence == WORSE

    clear = Verdict(Condition.CLEAR, value=96.0, samples=400, evidence=QUIET)
    ended, change = advance(worse, clear, POLICY, at(3))
    assert change is not None
    assert change.change is Change.RESOLVED
    assert (ended.status, ended.evidence, change.reason) == (Status.INACTIVE, None, QUIET)


def test_a_rule_without_confidence_stores_no_evidence() -> None:
    state = AlertState("fp", "SlowQueryP95", (), Status.INACTIVE, evidence=QUIET)

    fired, _ = advance(state, breach(Severity.WARNING, None), POLICY, at(0))
    ended, _ = advance(fired, Verdict(Condition.CLEAR, value=96.0, samples=400), POLICY, at(1))

    assert (fired.evidence, ended.evidence) == (None, None)
