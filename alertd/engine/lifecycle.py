"""One alert's state machine: inactive -> pending (`for`) -> firing -> resolved.

Pure: the next state and the transition (if any) follow from the current state, a verdict
and the evaluation time. Nothing here reads a clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from alertd.engine.verdict import Condition, Verdict
from alertd.model import AlertState, Change, Severity, Status, Transition

NoData = Literal["keep", "ok", "alert"]
# Why an alert ended for lack of data, as on-call engineers read it.
_LACKING = {Condition.NO_DATA: "no data", Condition.UNKNOWN: "too few samples to judge"}


@dataclass(frozen=True)
class Policy:
    """The timing a rule asks for.

    `stale_after`: how long an alert is held while nothing can be judged (no data under
    `no_data: keep`, or fewer rows than `min_samples`); after it the alert ends, because a
    page that can never resolve is worse than a missed repeat.
    """

    for_: dt.timedelta
    keep_firing_for: dt.timedelta
    no_data: NoData
    stale_after: dt.timedelta
    no_data_severity: Severity = Severity.CRITICAL
    unit: str | None = None  # carried on transitions so the console shows values in it


def advance(
    state: AlertState, verdict: Verdict, policy: Policy, now: dt.datetime
) -> tuple[AlertState, Transition | None]:
    """The state after this tick's verdict, and the transition it caused."""
    after, transition = _advance(state, verdict, policy, now)
    if transition is not None and policy.unit is not None:
        transition = dataclasses.replace(transition, unit=policy.unit)
    return after, transition


def _advance(
    state: AlertState, verdict: Verdict, policy: Policy, now: dt.datetime
) -> tuple[AlertState, Transition | None]:
    verdict = _apply_no_data(verdict, policy)
    judged = verdict.condition in (Condition.BREACH, Condition.CLEAR)
    observed = dataclasses.replace(
        state,
        last_eval=now,
        value=verdict.value if verdict.condition is not Condition.NO_DATA else state.value,
        samples=verdict.samples,
        # Only a judged tick counts as seeing the series: too few samples for long enough
        # goes stale like no data does, so it cannot hold an alert open forever.
        last_seen=now if judged else state.last_seen,
    )
    gap = now - state.last_eval if state.last_eval else dt.timedelta(0)
    if state.status is Status.PENDING and gap >= policy.stale_after:
        # Evaluation stopped for a while (a long restart): the `for` clock starts again,
        # as Prometheus's grace period does, rather than firing on the first breach.
        observed = dataclasses.replace(observed, active_since=now)
    if verdict.condition is Condition.BREACH:
        return _breach(observed, verdict, policy, now)
    if verdict.condition is Condition.CLEAR:
        return _clear(observed, verdict, policy, now)
    return _hold(observed, verdict, policy, now)


def _apply_no_data(verdict: Verdict, policy: Policy) -> Verdict:
    if verdict.condition is not Condition.NO_DATA or policy.no_data == "keep":
        return verdict
    if policy.no_data == "ok":
        return dataclasses.replace(verdict, condition=Condition.CLEAR)
    return dataclasses.replace(
        verdict, condition=Condition.BREACH, severity=policy.no_data_severity, threshold="no data"
    )


def _breach(
    state: AlertState, verdict: Verdict, policy: Policy, now: dt.datetime
) -> tuple[AlertState, Transition | None]:
    severity = verdict.severity
    if state.status is Status.FIRING:
        updated = dataclasses.replace(state, severity=severity, last_breach=now)
        if severity == state.severity or severity is None or state.severity is None:
            return updated, None
        change = Change.ESCALATED if severity.rank > state.severity.rank else Change.DEESCALATED
        # The notification of a new severity quotes the rows that show it.
        updated = dataclasses.replace(updated, evidence=verdict.evidence)
        return updated, _transition(state, updated, change, verdict, now)
    active_since = state.active_since if state.status is Status.PENDING else now
    assert active_since is not None
    if now - active_since >= policy.for_:
        firing = dataclasses.replace(
            state,
            status=Status.FIRING,
            severity=severity,
            active_since=active_since,
            firing_since=now,
            last_breach=now,
            evidence=verdict.evidence,
        )
        return firing, _transition(state, firing, Change.FIRING, verdict, now)
    pending = dataclasses.replace(
        state, status=Status.PENDING, severity=severity, active_since=active_since, last_breach=now
    )
    if state.status is Status.PENDING:
        return pending, None
    return pending, _transition(state, pending, Change.PENDING, verdict, now)


def _clear(
    state: AlertState, verdict: Verdict, policy: Policy, now: dt.datetime
) -> tuple[AlertState, Transition | None]:
    if state.status is Status.FIRING:
        assert state.last_breach is not None
        if now - state.last_breach < policy.keep_firing_for:
            return state, None
        return _end(state, Change.RESOLVED, verdict, now, "")
    if state.status is Status.PENDING:
        return _end(state, Change.CANCELLED, verdict, now, "")
    return state, None


def _hold(
    state: AlertState, verdict: Verdict, policy: Policy, now: dt.datetime
) -> tuple[AlertState, Transition | None]:
    """Cannot judge (no data kept, or too few samples): nothing moves until it goes stale.

    Such a tick neither raises, fires, cancels nor resolves an alert, and a pending one
    keeps its `for` clock: only a judged breach can fire it. Once nothing could be judged
    for `stale_after`, the alert ends, so a page never stays open forever.
    """
    if state.status is Status.INACTIVE:
        return state, None
    seen = state.last_seen or state.active_since
    if seen is None or now - seen < policy.stale_after:
        return state, None
    change = Change.RESOLVED if state.status is Status.FIRING else Change.CANCELLED
    return _end(
        state, change, verdict, now, f"{_LACKING[verdict.condition]} since {seen.isoformat()}"
    )


def _end(
    state: AlertState, change: Change, verdict: Verdict, now: dt.datetime, reason: str
) -> tuple[AlertState, Transition]:
    # An ended alert's state leaves the store; the rows that cleared it are the reason of
    # its transition, which the resolve's notification quotes.
    ended = AlertState(
        fingerprint=state.fingerprint,
        rule=state.rule,
        labels=state.labels,
        status=Status.INACTIVE,
        last_seen=state.last_seen,
        last_eval=now,
        value=state.value,
        samples=state.samples,
    )
    return ended, _transition(state, ended, change, verdict, now, reason)


def _transition(
    before: AlertState,
    after: AlertState,
    change: Change,
    verdict: Verdict,
    now: dt.datetime,
    reason: str = "",
) -> Transition:
    return Transition(
        at=now,
        fingerprint=after.fingerprint,
        rule=after.rule,
        labels=after.labels,
        change=change,
        previous=before.status,
        status=after.status,
        severity=after.severity if after.status is not Status.INACTIVE else before.severity,
        previous_severity=before.severity,
        value=verdict.value if verdict.value is not None else before.value,
        threshold=verdict.threshold,
        reason=reason or verdict.evidence or "",
    )
