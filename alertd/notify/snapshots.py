"""From an alert's state to what a notification shows: labels, rendered annotations."""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from alertd.model import WATCHDOG_ALERT, AlertSnapshot, AlertState, Status
from alertd.notify.matchers import with_identity
from alertd.rules.durations import format_duration
from alertd.rules.ruleset import Rule
from alertd.rules.sandbox import OverBudget
from alertd.rules.templates import render

log = structlog.get_logger(__name__)

SOURCE_SUMMARY = (
    "Queries to Analytics Engine for {dataset} keep failing; alerts on it cannot be judged"
)
NO_VALUE = "{alert}: no data for this series in the last {window}"
WATCHDOG_SUMMARY = (
    "alertd is running: this alert always fires, so that a heartbeat service notices "
    "when its notifications stop"
)
RULE_SUMMARY = (
    "Analytics Engine refuses the query of rule {rule}; it cannot page until that is fixed"
)


def snapshot(state: AlertState, rule: Rule | None, threshold: str | None) -> AlertSnapshot:
    """A firing alert as notifications show it; a template that fails shows its source."""
    labels = with_identity(state.rule, state.labels, state.severity)
    annotations = _annotations(state, rule, threshold, dict(labels))
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
    )


def rendered_annotations(state: AlertState, rule: Rule) -> dict[str, str]:
    """The annotations of a pending or firing alert, as its notification would show them."""
    labels = with_identity(state.rule, state.labels, state.severity)
    return _annotations(state, rule, threshold_text(rule, state), dict(labels))


def _annotations(
    state: AlertState, rule: Rule | None, threshold: str | None, labels: Mapping[str, str]
) -> dict[str, str]:
    if rule is None:
        return _health_annotations(labels, threshold)
    context = {
        "labels": labels,
        "value": state.value,
        "threshold": threshold,
        "severity": state.severity.value if state.severity else None,
        "alert": rule.name,
        "samples": state.samples,
        "window": format_duration(rule.window),
        "annotations": dict(rule.annotations),
    }
    rendered: dict[str, str] = {}
    for name, source in rule.annotations.items():
        try:
            rendered[name] = render(source, context)
        except Exception as exc:  # arithmetic in a template can fail any way at all
            # Over budget is the template's fault, whatever the value: it goes to the log.
            if state.value is None and not isinstance(exc, OverBudget):
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


def threshold_text(rule: Rule | None, state: AlertState) -> str | None:
    """The threshold the alert's current severity stands for, in the rule's unit."""
    if rule is None or state.severity is None:
        return None
    threshold = rule.thresholds.get(state.severity)
    return threshold.shown if threshold else None


class SnapshotCache:
    """Firing alerts as notifications show them, rendered once per change of the alert.

    The notifier looks after every commit; rendering every template of every firing alert each
    time would cost far more than the alerts change.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[AlertState, Rule | None, AlertSnapshot]] = {}

    def firing(
        self, states: Mapping[str, AlertState], rules: Mapping[str, Rule]
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
                shown = snapshot(state, rule, threshold_text(rule, state))
            fresh[key] = (state, rule, shown)
            out.append(shown)
        self._cache = fresh
        return out


def _health_annotations(labels: Mapping[str, str], threshold: str | None) -> dict[str, str]:
    """alertd's own alerts have no rule file: say what is wrong in plain words."""
    if labels.get("alertname") == WATCHDOG_ALERT:
        return {"summary": WATCHDOG_SUMMARY, "description": ""}
    if "rule" in labels:
        summary = RULE_SUMMARY.format(rule=labels["rule"])
    else:
        summary = SOURCE_SUMMARY.format(dataset=labels.get("dataset", "a dataset"))
    return {"summary": summary, "description": threshold or ""}
