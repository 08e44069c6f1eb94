"""Alerts fired in a period and how long they took to resolve, from the stored transitions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from alertd.model import Change, Transition
from alertd.reports.figures import AlertFigures, RuleAlerts
from alertd.store.base import AlertStates

# Transitions read per report; a period with more is summarised from its newest ones.
LIMIT = 10_000


async def alert_figures(history: AlertStates, start: dt.datetime, end: dt.datetime) -> AlertFigures:
    """Alerts fired in `[start, end)` and the time to resolve of those resolved in it.

    An alert resolved in the period may have fired before it, so the transitions are read
    from one period earlier.
    """
    transitions = await history.transitions(since=start - (end - start), limit=LIMIT)
    return summarise([t for t in transitions if t.at < end], start)


def summarise(transitions: Sequence[Transition], start: dt.datetime) -> AlertFigures:
    """`transitions` (oldest first) summarised for the period starting at `start`."""
    fired_at: dict[str, dt.datetime] = {}
    fired: dict[str, int] = defaultdict(int)
    durations: dict[str, list[float]] = defaultdict(list)
    for t in transitions:
        if t.change is Change.FIRING:
            fired_at[t.fingerprint] = t.at
            if t.at >= start:
                fired[t.rule] += 1
        elif t.change is Change.RESOLVED:
            began = fired_at.pop(t.fingerprint, None)
            if began is not None and t.at >= start:
                durations[t.rule].append((t.at - began).total_seconds())
    rules = sorted(set(fired) | set(durations))
    by_rule = tuple(
        RuleAlerts(
            rule=rule,
            fired=fired[rule],
            resolved=len(durations[rule]),
            mean_resolve_s=_mean(durations[rule]),
            longest_resolve_s=max(durations[rule], default=None),
        )
        for rule in rules
    )
    every = [d for rule in rules for d in durations[rule]]
    return AlertFigures(
        fired=sum(fired.values()),
        resolved=len(every),
        mean_resolve_s=_mean(every),
        by_rule=tuple(sorted(by_rule, key=lambda r: (-r.fired, r.rule))),
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
