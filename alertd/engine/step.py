"""One evaluation step for a set of rules: verdicts, lifecycle, transitions. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from alertd.engine.lifecycle import Policy, advance
from alertd.engine.verdict import Condition, Verdict, judge
from alertd.model import (
    AlertState,
    Change,
    Labels,
    SeriesPoint,
    Status,
    Transition,
    fingerprint,
)
from alertd.query.results import RuleResult, SeriesValue
from alertd.rules.ruleset import Rule
from alertd.store.base import unchanged

MIN_STALE_AFTER = dt.timedelta(minutes=10)
STALE_TICKS = 3


@dataclass
class Step:
    """What one step changed: states to keep, fingerprints gone inactive, transitions.

    `evaluated` names the rules whose every alert this step judged (those whose query
    answered).
    """

    states: dict[str, AlertState] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    points: list[SeriesPoint] = field(default_factory=list)
    unhealthy: dict[str, str] = field(default_factory=dict)  # rule name -> error

    def record(
        self, before: AlertState | None, after: AlertState, transition: Transition | None
    ) -> None:
        if transition is not None:
            self.transitions.append(transition)
        if after.status is Status.INACTIVE:
            if before is not None and before.status is not Status.INACTIVE:
                self.removed.append(after.fingerprint)
        else:
            self.states[after.fingerprint] = after

    def to_write(
        self, before: Mapping[str, AlertState], *, store_holds_before: bool = True
    ) -> tuple[AlertState, ...]:
        """The kept states a store holding `before` must write: in a steady alert storm,
        only the few whose status, severity or clocks moved (`store.base.unchanged`).
        When the store may not hold `before` (`store_holds_before` false), all of them."""
        if not store_holds_before:
            return tuple(self.states.values())
        evaluated = set(self.evaluated)
        return tuple(
            s
            for s in self.states.values()
            if not unchanged(before.get(s.fingerprint), s, evaluated=s.rule in evaluated)
        )


def policy(rule: Rule, interval: dt.timedelta) -> Policy:
    """The rule's timing, evaluated every `interval`.

    Data counts as stale only after several ticks have missed it: the gap between two
    ticks of a slow group must never look like data gone, or `for` could never elapse.
    """
    return Policy(
        for_=rule.for_,
        keep_firing_for=rule.keep_firing_for,
        no_data=rule.no_data,
        stale_after=max(2 * rule.window, MIN_STALE_AFTER, STALE_TICKS * interval),
        no_data_severity=max(rule.thresholds, key=lambda s: s.rank),
        unit=rule.unit,
    )


def alert_labels(rule: Rule, series: Labels) -> Labels:
    """An alert's labels: the series' group-by labels and the rule's static labels."""
    return tuple(sorted({**dict(series), **rule.labels}.items()))


def fits(rule: Rule, labels: Labels) -> bool:
    """Whether an alert with these labels can still be one of the rule's alerts.

    After a reload changes `by` or the static labels, alerts under the old identity
    would never be judged again by their own series.
    """
    found = dict(labels)
    if any(found.get(name) != value for name, value in rule.labels.items()):
        return False
    static = set(rule.labels)
    if set(found) == static | set(rule.by):
        return True
    # The one alert `no_data: alert` raises for a grouped rule without any series.
    return rule.no_data == "alert" and set(found) == static


def step(
    rules: Sequence[Rule],
    results: Mapping[str, RuleResult],
    states: Mapping[str, AlertState],
    now: dt.datetime,
    *,
    interval: dt.timedelta = dt.timedelta(0),
) -> Step:
    """Advance every alert of `rules`, evaluated every `interval`, with this tick's results.

    A rule whose query failed is left exactly as it was and reported unhealthy: a failure
    is never taken for an all-clear.
    """
    out = Step()
    by_rule: dict[str, list[AlertState]] = {}
    for state in states.values():
        by_rule.setdefault(state.rule, []).append(state)
    for rule in rules:
        result = results.get(rule.name)
        if result is None:
            out.unhealthy[rule.name] = "not evaluated"
            continue
        if result.error is not None:
            out.unhealthy[rule.name] = result.error
            continue
        out.evaluated.append(rule.name)
        _step_rule(rule, policy(rule, interval), result, by_rule.get(rule.name, []), now, out)
    return out


def _step_rule(
    rule: Rule,
    rule_policy: Policy,
    result: RuleResult,
    existing: Iterable[AlertState],
    now: dt.datetime,
    out: Step,
) -> None:
    known = {state.labels: state for state in existing}
    unjudged = dict(known)  # known alerts whose series has not been seen yet
    # `no_data: alert` on a grouped rule with no series at all raises one alert without
    # group labels; it ends as soon as the rule has a series again.
    placeholder = alert_labels(rule, ())
    no_series = not result.series
    for labels, value in _alert_series(rule, result.series):
        before = unjudged.pop(labels, None)
        if before is None and _quiet(rule, value):
            continue  # most series, most ticks: no alert, and none to raise
        _step_series(rule, rule_policy, labels, value, before, placeholder, no_series, now, out)
    for labels, before in unjudged.items():
        # Gone from the answer: judged as no data.
        _step_series(rule, rule_policy, labels, None, before, placeholder, no_series, now, out)
    if no_series and rule.no_data == "alert" and placeholder not in known:
        _step_series(rule, rule_policy, placeholder, None, None, placeholder, True, now, out)


def _alert_series(
    rule: Rule, series: Mapping[Labels, SeriesValue]
) -> Iterable[tuple[Labels, SeriesValue]]:
    """Each series with its alert's labels (the group-by labels and the static ones)."""
    if not rule.labels:
        return series.items()  # read gives the group-by labels sorted: they are the alert's
    kept = _ALERT_LABELS.setdefault(tuple(rule.labels.items()), {})
    if len(kept) > _ALERT_LABELS_KEPT:
        kept.clear()
    alerts: dict[Labels, SeriesValue] = {}
    for labels, value in series.items():
        found = kept.get(labels)
        if found is None:
            found = kept[labels] = alert_labels(rule, labels)
        alerts[found] = value
    return alerts.items()


# Alert labels by static labels and series labels: kept, not rebuilt every tick for every
# series; emptied when one set grows past what any daemon watches.
_ALERT_LABELS: dict[tuple[tuple[str, str], ...], dict[Labels, Labels]] = {}
_ALERT_LABELS_KEPT = 1_000_000


def _quiet(rule: Rule, value: SeriesValue | None) -> bool:
    """Whether a series without an alert stays without one this tick: what `judge` and
    `advance` would decide, without building what they would throw away."""
    if value is None or value.value is None:
        return rule.no_data != "alert"
    if value.samples < rule.min_samples:
        return True  # cannot judge: nothing moves
    return not any(threshold.holds(value.value) for threshold in rule.thresholds.values())


def _step_series(
    rule: Rule,
    rule_policy: Policy,
    labels: Labels,
    value: SeriesValue | None,
    before: AlertState | None,
    placeholder: Labels,
    no_series: bool,
    now: dt.datetime,
    out: Step,
) -> None:
    state = before or AlertState(fingerprint(rule.name, labels), rule.name, labels, Status.INACTIVE)
    firing = state.status is Status.FIRING
    verdict: Verdict = judge(rule, value, firing=firing, severity=state.severity)
    if rule.by and labels == placeholder and not no_series:
        verdict = Verdict(Condition.CLEAR)
    after, transition = advance(state, verdict, rule_policy, now)
    out.record(before, after, transition)
    # A point only for an alert that is or was active: nobody charts a quiet series.
    if value is not None and (transition is not None or after.status is not Status.INACTIVE):
        out.points.append(SeriesPoint(state.fingerprint, now, value.value, value.samples))


def carry(states: Mapping[str, AlertState], step_result: Step) -> dict[str, AlertState]:
    """The full state map after a step: old states, updated and minus those gone inactive."""
    merged = {**states, **step_result.states}
    for gone in step_result.removed:
        merged.pop(gone, None)
    return merged


def retire(
    states: Mapping[str, AlertState],
    why: Callable[[AlertState], str | None],
    now: dt.datetime,
) -> Step:
    """End every alert for which `why` gives a reason (None keeps it): a rule removed or
    changed by a reload or while alertd was down would otherwise leave its alerts firing
    forever."""
    out = Step()
    for state in states.values():
        reason = why(state)
        if state.status is Status.INACTIVE or reason is None:
            continue
        change = Change.RESOLVED if state.status is Status.FIRING else Change.CANCELLED
        ended = AlertState(
            state.fingerprint, state.rule, state.labels, Status.INACTIVE, last_eval=now
        )
        out.record(
            state,
            ended,
            Transition(
                at=now,
                fingerprint=state.fingerprint,
                rule=state.rule,
                labels=state.labels,
                change=change,
                previous=state.status,
                status=Status.INACTIVE,
                severity=state.severity,
                previous_severity=state.severity,
                value=state.value,
                reason=reason,
            ),
        )
    return out
