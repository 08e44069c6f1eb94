"""From an alert's state to what a notification shows: labels, rendered annotations, the
value now and, where the value alone would mislead, why the alert still fires."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import structlog

from alertd.model import (
    LAGGING_ALERT,
    WATCHDOG_ALERT,
    AlertSnapshot,
    AlertState,
    Severity,
    Status,
    Transition,
)
from alertd.notify.matchers import with_identity
from alertd.rules.durations import format_duration
from alertd.rules.ruleset import Rule
from alertd.rules.sandbox import OverBudget
from alertd.rules.templates import render
from alertd.rules.thresholds import Threshold
from alertd.rules.units import number_text, value_in_unit

log = structlog.get_logger(__name__)

SOURCE_SUMMARY = (
    "Queries to Analytics Engine for {dataset} keep failing; alerts on it cannot be judged"
)
NO_VALUE = "{alert}: no data for this series in the last {window}"
WATCHDOG_SUMMARY = (
    "alertd is running: this alert always fires, so that a heartbeat service notices "
    "when its notifications stop"
)
LAGGING_SUMMARY = (
    "Rows of {dataset} land later than the longest evaluation delay; its alerts are judged "
    "on windows whose newest rows are missing"
)
RULE_SUMMARY = (
    "Analytics Engine refuses the query of rule {rule}; it cannot page until that is fixed"
)
RECEIVER_SUMMARY = "Receiver {receiver} cannot send: {reason}. Pages routed to it are not delivered"
# Annotations every receiver shows as links, whatever the rule's `links:` says.
LINK_ANNOTATIONS = ("runbook_url", "dashboard_url")
_OP_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}


def snapshot(
    state: AlertState, rule: Rule | None, threshold: str | None, reason: str = ""
) -> AlertSnapshot:
    """A firing alert as notifications show it; a template that fails shows its source.
    `reason` says what is wrong for alertd's own alerts, which have no rule."""
    labels = with_identity(state.rule, state.labels, state.severity)
    annotations = _annotations(
        state.value, state.severity, state.samples, rule, reason or threshold, dict(labels)
    )
    assert state.firing_since is not None
    return AlertSnapshot(
        fingerprint=state.fingerprint,
        rule=state.rule,
        labels=labels,
        firing=True,
        severity=state.severity,
        value=state.value,
        threshold=threshold,
        annotations=annotations,
        starts_at=state.firing_since,
        unit=rule.unit if rule else None,
        note=firing_note(state, rule),
        links=links(rule, annotations),
        evidence=state.evidence or "",
    )


def rendered_annotations(state: AlertState, rule: Rule) -> dict[str, str]:
    """The annotations of a pending or firing alert, as its notification would show them."""
    labels = with_identity(state.rule, state.labels, state.severity)
    return _annotations(
        state.value, state.severity, state.samples, rule, threshold_text(rule, state), dict(labels)
    )


def ended(
    last: AlertSnapshot,
    resolution: Transition | None,
    firing_before: AlertSnapshot | None,
    rule: Rule | None,
    now: dt.datetime,
) -> AlertSnapshot:
    """A resolved alert as its resolve shows it: the value at resolution and the last value
    while firing, each for what it is, the severity it last had, and what the rows said
    when it resolved.

    `firing_before` is the alert as last seen firing (None after a restart: the last
    notified one stands in); `resolution` the transition that ended it, when known.
    """
    before = firing_before or last
    value = resolution.value if resolution is not None else None
    severity = before.severity
    if resolution is not None and resolution.severity is not None:
        severity = resolution.severity
    annotations: Mapping[str, str] = before.annotations
    if rule is not None:
        samples = 0 if value is None else 1
        annotations = _annotations(
            value, severity, samples, rule, before.threshold, dict(before.labels)
        )
    evidence = _resolution_evidence(resolution, rule)
    note = _resolution_note(resolution)
    return dataclasses.replace(
        before,
        firing=False,
        ends_at=now,
        value=value,
        last_value=before.value,
        severity=severity,
        annotations=annotations,
        note="" if note == evidence else note,
        links=links(rule, annotations) if rule is not None else before.links,
        evidence=evidence,
    )


def firing_note(state: AlertState, rule: Rule | None) -> str:
    """Why a firing alert still fires when its value alone would say it should not, or ""."""
    if rule is None or state.severity is None:
        return ""
    kept = _kept_firing(state, rule)
    value = state.value
    if value is None:
        seen = f"no data since {_clock(state.last_seen)}" if state.last_seen else "no data"
        return f"{seen}; {kept}" if kept else seen
    threshold = rule.thresholds.get(state.severity)
    if threshold is None or threshold.holds(value):
        return ""
    shown = _shown(value, rule.unit)
    milder = [t for s, t in rule.thresholds.items() if s.rank < state.severity.rank]
    if any(t.holds(value) for t in milder) and rule.recover is not None:
        # Stepping down is steadied by recover's margin (engine/verdict.py).
        bound = _step_down_bound(threshold, rule.recover, rule.thresholds)
        way = "below" if threshold.upward else "above"
        level = state.severity.value
        return f"holding {level}: {shown}, steps down {way} {_shown(bound, rule.unit)}"
    notes = []
    if rule.recover is not None and not rule.recover.holds(value):
        recover = rule.recover
        notes.append(
            f"recovering: {shown}, resolves {_OP_WORDS[recover.op]} "
            f"{_shown(recover.bound, rule.unit)}"
        )
    if kept:
        notes.append(kept)
    return "; ".join(notes) or f"clear at {shown}, resolving at the next evaluation"


def links(rule: Rule | None, annotations: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The annotations that are links (`runbook_url`, `dashboard_url`, the rule's `links:`)
    and whose rendered value is an http(s) URL."""
    names = [*LINK_ANNOTATIONS, *(rule.links if rule is not None else ())]
    out: dict[str, str] = {}
    for name in names:
        url = annotations.get(name, "").strip()
        if url.startswith(("https://", "http://")) and name not in out:
            out[name] = url
    return tuple((_link_title(name), url) for name, url in out.items())


def threshold_text(rule: Rule | None, state: AlertState) -> str | None:
    """The threshold the alert's current severity stands for, in the rule's unit."""
    if rule is None or state.severity is None:
        return None
    threshold = rule.thresholds.get(state.severity)
    return threshold.shown if threshold else None


class SnapshotCache:
    """Firing alerts as notifications show them, rendered once per change of the alert,
    and each alert as last seen firing, which its resolve quotes.

    The notifier looks after every commit; rendering every template of every firing alert each
    time would cost far more than the alerts change.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[AlertState, Rule | None, AlertSnapshot]] = {}
        self._last_firing: dict[str, AlertSnapshot] = {}

    def firing(
        self,
        states: Mapping[str, AlertState],
        rules: Mapping[str, Rule],
        reasons: Mapping[str, str] | None = None,
    ) -> list[AlertSnapshot]:
        out = []
        fresh: dict[str, tuple[AlertState, Rule | None, AlertSnapshot]] = {}
        for key, state in states.items():
            if state.status is not Status.FIRING:
                continue
            rule = rules.get(state.rule)
            cached = self._cache.get(key)
            if cached is not None and cached[0] == state and cached[1] is rule:
                shown = cached[2]
            else:
                reason = (reasons or {}).get(key, "")
                shown = snapshot(state, rule, threshold_text(rule, state), reason)
            fresh[key] = (state, rule, shown)
            out.append(shown)
        self._cache = fresh
        for key, (_, _, shown) in fresh.items():
            before = self._last_firing.get(key)
            if shown.value is None and before is not None and before.value is not None:
                # Held firing without data: the last number seen is what a resolve quotes.
                shown = dataclasses.replace(shown, value=before.value)
            self._last_firing[key] = shown
        return out

    @property
    def firing_now(self) -> set[str]:
        """The alerts firing at the last look."""
        return set(self._cache)

    def last_firing(self, fingerprint: str) -> AlertSnapshot | None:
        """The alert as last seen firing since this process started, or None."""
        return self._last_firing.get(fingerprint)

    def keep_only(self, fingerprints: set[str]) -> None:
        """Forget alerts no group still shows, so memory follows the alerts that matter."""
        for gone in set(self._last_firing) - fingerprints:
            del self._last_firing[gone]


def _annotations(
    value: float | None,
    severity: Severity | None,
    samples: int,
    rule: Rule | None,
    threshold: str | None,
    labels: Mapping[str, str],
) -> dict[str, str]:
    if rule is None:
        return _health_annotations(labels, threshold)
    context = {
        "labels": labels,
        "value": value,
        "threshold": threshold,
        "severity": severity.value if severity else None,
        "alert": rule.name,
        "samples": samples,
        "window": format_duration(rule.window),
        "annotations": dict(rule.annotations),
    }
    rendered: dict[str, str] = {}
    for name, source in rule.annotations.items():
        try:
            rendered[name] = render(source, context)
        except Exception as exc:  # arithmetic in a template can fail any way at all
            # Over budget is the template's fault, whatever the value: it goes to the log.
            if value is None and not isinstance(exc, OverBudget):
                # Arithmetic on a missing value (no data, held by `no_data` or
                # `keep_firing_for`) is expected to fail; say plainly what is missing.
                rendered[name] = NO_VALUE.format(alert=rule.name, window=context["window"])
                continue
            # A page with the raw template beats no page; the log says what to fix.
            log.warning(
                "annotation.render_failed", alert=rule.name, annotation=name, error=str(exc)
            )
            rendered[name] = source
    return rendered


def _kept_firing(state: AlertState, rule: Rule) -> str:
    """`kept firing until 10:15:30 UTC after clearing` while `keep_firing_for` holds it."""
    if not rule.keep_firing_for or state.last_breach is None or state.last_eval is None:
        return ""
    if state.last_breach >= state.last_eval:
        return ""  # the condition held at the last evaluation
    until = state.last_breach + rule.keep_firing_for
    if until <= state.last_eval:
        return ""  # keep_firing_for is over: something else (recover) holds it
    return f"kept firing until {_clock(until)} after clearing"


def _step_down_bound(
    threshold: Threshold, recover: Threshold, thresholds: Mapping[Severity, Threshold]
) -> float:
    """The value past which a firing alert steps down from `threshold`'s severity: the
    bound moved to the quiet side by the margin between recover and the mildest bound."""
    mildest = thresholds[min(thresholds, key=lambda s: s.rank)]
    margin = abs(mildest.bound - recover.bound)
    return threshold.bound - margin if threshold.upward else threshold.bound + margin


def _resolution_evidence(resolution: Transition | None, rule: Rule | None) -> str:
    """What the rows said when the alert resolved, or "".

    A resolved alert's state is gone from the store; its resolving transition stays, and
    its reason is the evidence when the rule weighs its rows and the rows cleared it
    (engine/verdict.py begins that sentence with the rule's value), not a reason such as
    `no data since …` or a removed rule.
    """
    if resolution is None or rule is None or rule.confidence is None:
        return ""
    reason = resolution.reason
    return reason if reason.startswith(f"{rule.value_text} ") else ""


def _resolution_note(resolution: Transition | None) -> str:
    """The engine's reason for a resolve that is not simply "back to normal"."""
    if resolution is None:
        return ""
    if resolution.reason:
        return resolution.reason
    return "no data at resolution" if resolution.value is None else ""


def _shown(value: float, unit: str | None) -> str:
    return number_text(value) if unit is None else value_in_unit(value, unit)


def _clock(at: dt.datetime) -> str:
    return f"{at.astimezone(dt.UTC):%H:%M:%S} UTC"


def _link_title(name: str) -> str:
    """`runbook_url` → `Runbook`, `grafana_dashboard` → `Grafana dashboard`."""
    words = name.removesuffix("_url").replace("_", " ").strip() or name
    return words[:1].upper() + words[1:]


def _health_annotations(labels: Mapping[str, str], threshold: str | None) -> dict[str, str]:
    """alertd's own alerts have no rule file: say what is wrong in plain words."""
    if labels.get("alertname") == WATCHDOG_ALERT:
        return {"summary": WATCHDOG_SUMMARY, "description": ""}
    if "receiver" in labels:
        reason = threshold or "it is not configured"
        summary = RECEIVER_SUMMARY.format(receiver=labels["receiver"], reason=reason)
    elif "rule" in labels:
        summary = RULE_SUMMARY.format(rule=labels["rule"])
    elif labels.get("alertname") == LAGGING_ALERT:
        summary = LAGGING_SUMMARY.format(dataset=labels.get("dataset", "a dataset"))
    else:
        summary = SOURCE_SUMMARY.format(dataset=labels.get("dataset", "a dataset"))
    return {"summary": summary, "description": threshold or ""}
