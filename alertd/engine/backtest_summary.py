"""What a backtest amounts to per rule: how often it fired, for how long, whom it paged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alertd.model import Change, Notification, Transition


@dataclass
class RuleSummary:
    """One rule over a backtest's range; an alert still firing at the end counts up to it."""

    rule: str
    fired: int = 0
    firing: dt.timedelta = dt.timedelta(0)
    longest: dt.timedelta = dt.timedelta(0)
    pages: dict[str, int] = field(default_factory=dict)  # receiver -> firing notifications

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "fired": self.fired,
            "firing_seconds": self.firing.total_seconds(),
            "longest_firing_seconds": self.longest.total_seconds(),
            "pages": dict(sorted(self.pages.items())),
        }

    def as_line(self, *, with_pages: bool) -> str:
        if not self.fired:
            text = f"{self.rule}: never fired"
        else:
            times = "once" if self.fired == 1 else f"{self.fired} times"
            text = (
                f"{self.rule}: fired {times}, firing {_span(self.firing)} in all, "
                f"longest {_span(self.longest)}"
            )
        if with_pages:
            shown = ", ".join(f"{r} {n}" for r, n in sorted(self.pages.items())) or "none"
            text += f"; pages: {shown}"
        return text


def summarize(
    rules: Iterable[str],
    transitions: Iterable[Transition],
    end: dt.datetime,
    notifications: Iterable[Notification] = (),
) -> list[RuleSummary]:
    """A summary per rule, in the order given: firing spans run from each alert's
    `firing` transition to its `resolved` one, or to `end`."""
    found = {name: RuleSummary(name) for name in rules}
    since: dict[str, tuple[RuleSummary, dt.datetime]] = {}  # fingerprint -> firing since
    for transition in transitions:
        summary = found.get(transition.rule)
        if summary is None:
            continue  # the source's and the rules' own health alerts
        if transition.change is Change.FIRING:
            summary.fired += 1
            since[transition.fingerprint] = (summary, transition.at)
        elif transition.change is Change.RESOLVED and transition.fingerprint in since:
            _, started = since.pop(transition.fingerprint)
            _close(summary, transition.at - started)
    for summary, started in since.values():
        _close(summary, end - started)
    for notification in notifications:
        if not notification.firing:
            continue
        for rule in {alert.rule for alert in notification.alerts if alert.rule in found}:
            pages = found[rule].pages
            pages[notification.receiver] = pages.get(notification.receiver, 0) + 1
    return list(found.values())


def _close(summary: RuleSummary, span: dt.timedelta) -> None:
    summary.firing += span
    summary.longest = max(summary.longest, span)


def _span(span: dt.timedelta) -> str:
    """`2h5m`, `4m30s`, `0s`: whole seconds, zero parts left out."""
    hours, rest = divmod(int(span.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
