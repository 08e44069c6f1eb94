"""What the status page shows, computed from alert states, rules and silences. Pure.

An alert's muting is judged as the notifier judges it: on its labels plus `alertname` and
`severity`, by the silences active now and the inhibit rules against the alerts firing now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from alertd.model import AlertState, Labels, Severity, Status, Transition
from alertd.notify.inhibit import Inhibitor, InhibitRule
from alertd.notify.matchers import Matcher, with_identity
from alertd.notify.silences import Silence, Silencer
from alertd.rules.ruleset import Rule, RuleSet
from alertd.rules.units import humanize_duration, number_text, value_in_unit
from alertd.server.svg_chart import Bound


@dataclass(frozen=True)
class AlertRow:
    """One pending or firing alert as a row of the page."""

    fingerprint: str
    rule: str
    labels: Labels
    status: str
    severity: str | None
    since: dt.datetime | None
    value: str
    threshold: str
    muted: str | None
    silence_matchers: str


@dataclass(frozen=True)
class RuleRow:
    name: str
    group: str
    datasets: str
    value: str
    window: str
    thresholds: str
    firing: int
    pending: int
    error: str | None


@dataclass(frozen=True)
class SilenceRow:
    id: str
    matchers: str
    state: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str


def show_value(value: float | None, unit: str | None) -> str:
    """A value as pages say it: in the rule's unit, `no value` when there is none."""
    if value is None:
        return "no value"
    return number_text(value) if unit is None else value_in_unit(value, unit)


def thresholds_text(rule: Rule | None, severity: Severity | None = None) -> str:
    """The threshold a severity stands for, or every threshold of the rule, in its unit."""
    if rule is None:
        return ""
    if severity is not None and severity in rule.thresholds:
        return rule.thresholds[severity].shown
    ordered = sorted(rule.thresholds.items(), key=lambda item: item[0].rank)
    return ", ".join(f"{s.value} {t.shown}" for s, t in ordered)


def bounds(rule: Rule | None) -> list[Bound]:
    """The rule's thresholds as lines for its chart."""
    if rule is None:
        return []
    ordered = sorted(rule.thresholds.items(), key=lambda item: item[0].rank)
    return [Bound(t.bound, s.value, f"{s.value} {t.shown}") for s, t in ordered]


def silence_text(matchers: Iterable[Matcher]) -> str:
    return ", ".join(str(m) for m in matchers)


def matchers_for(rule: str, labels: Labels) -> str:
    """The matchers a silence of exactly this alert would have, for a prefilled form."""
    pairs = [("alertname", rule), *labels]
    return ", ".join(str(Matcher(name, "=", value)) for name, value in pairs)


class Muting:
    """Why each alert is muted now, if it is: the notifier's silences and inhibitions."""

    def __init__(
        self,
        states: Iterable[AlertState],
        silences: Sequence[Silence],
        inhibit_rules: Sequence[InhibitRule],
        now: dt.datetime,
        asked: Iterable[AlertState] | None = None,
    ) -> None:
        """`states` are every alert (the firing ones inhibit); `asked`, when given, the only
        ones `reason` will be asked about, which is all the silences need to know."""
        states = list(states)
        firing = [_identity(s) for s in states if s.status is Status.FIRING]
        identities = [_identity(s) for s in (states if asked is None else asked)]
        self._silencer = Silencer(silences, now, identities)
        self._inhibitor = Inhibitor(firing, inhibit_rules)

    def reason(self, state: AlertState) -> str | None:
        labels = _identity(state)
        silence = self._silencer.silencing(labels)
        if silence is not None:
            until = silence.ends_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            return (
                f"silenced by {silence.id} until {until} ({silence.created_by}: {silence.comment})"
            )
        source = self._inhibitor.muted_by(labels)
        if source is not None:
            named = dict(source)
            shown = ", ".join(f"{k}={v}" for k, v in source if k != "alertname")
            return f"inhibited by {named.get('alertname', '?')} {{{shown}}}"
        return None


def _identity(state: AlertState) -> Labels:
    return with_identity(state.rule, state.labels, state.severity)


_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def shown_first(states: Iterable[AlertState]) -> list[AlertState]:
    """Firing alerts, then pending ones; the most severe and the oldest first."""
    active = [s for s in states if s.status is not Status.INACTIVE]
    return sorted(
        active,
        key=lambda s: (
            s.status is not Status.FIRING,
            s.severity is not Severity.CRITICAL,
            s.firing_since or s.active_since or _FAR,
            s.rule,
            s.labels,
        ),
    )


def alert_rows(
    shown: Iterable[AlertState], rules: Mapping[str, Rule], muting: Muting
) -> list[AlertRow]:
    """A row for each alert, in the order given."""
    rows = []
    for state in shown:
        rule = rules.get(state.rule)
        unit = rule.unit if rule else None
        rows.append(
            AlertRow(
                fingerprint=state.fingerprint,
                rule=state.rule,
                labels=state.labels,
                status=state.status.value,
                severity=state.severity.value if state.severity else None,
                since=state.firing_since or state.active_since,
                value=show_value(state.value, unit),
                threshold=thresholds_text(rule, state.severity),
                muted=muting.reason(state),
                silence_matchers=matchers_for(state.rule, state.labels),
            )
        )
    return rows


def rule_rows(
    ruleset: RuleSet, states: Mapping[str, AlertState], errors: Mapping[str, str]
) -> list[RuleRow]:
    """Every rule with its alerts counted and the error that keeps it from judging, if any."""
    firing: dict[str, int] = {}
    pending: dict[str, int] = {}
    for state in states.values():
        if state.status is Status.FIRING:
            firing[state.rule] = firing.get(state.rule, 0) + 1
        elif state.status is Status.PENDING:
            pending[state.rule] = pending.get(state.rule, 0) + 1
    return [
        RuleRow(
            name=rule.name,
            group=rule.group,
            datasets=", ".join(rule.datasets),
            value=rule.value_text,
            window=humanize_duration(rule.window.total_seconds()),
            thresholds=thresholds_text(rule),
            firing=firing.get(rule.name, 0),
            pending=pending.get(rule.name, 0),
            error=errors.get(rule.name),
        )
        for rule in ruleset.rules
    ]


def silence_rows(silences: Iterable[Silence], now: dt.datetime) -> list[SilenceRow]:
    """Silences not yet over, by end."""
    rows = [
        SilenceRow(
            s.id,
            silence_text(s.matchers),
            s.state(now),
            s.starts_at,
            s.ends_at,
            s.created_by,
            s.comment,
        )
        for s in silences
        if s.state(now) != "expired"
    ]
    return sorted(rows, key=lambda r: (r.ends_at, r.id))


def since_text(now: dt.datetime) -> Callable[[dt.datetime | None], str]:
    """`12m 30s ago` for a past instant."""

    def text(at: dt.datetime | None) -> str:
        if at is None:
            return ""
        return humanize_duration(max(0.0, (now - at).total_seconds())) + " ago"

    return text


def for_alert(transitions: Iterable[Transition], fingerprint: str) -> list[Transition]:
    return [t for t in transitions if t.fingerprint == fingerprint]
