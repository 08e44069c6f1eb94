"""alertd's own alerts: a source that keeps failing, a rule whose query keeps being refused.

`AlertdSourceUnavailable{dataset}` fires when a dataset's queries keep failing (network,
5xx, 429, auth): no rule on it can be judged. `AlertdRuleFailing{rule}` fires when AE keeps
refusing a rule's SQL (422, e.g. a numeric blob holding text): that rule can never page.
All run through the same lifecycle as every rule: a failed tick is a breach, a good one a
clear, and `for` is how long a failure may last before anyone is paged.

With replicas, a dataset's alerts (source down, rows late) are judged by one group's
ticks alone, the dataset's owner: each group is ticked by the holder of its lease, so
one replica writes the alert, under that lease, and no two commit rival versions of it.
A rule's alert is its own group's already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from alertd.engine.freshness import LagEstimator
from alertd.engine.lifecycle import Policy, advance
from alertd.engine.step import Step
from alertd.engine.verdict import Condition, Verdict
from alertd.model import (
    LAGGING_ALERT,
    AlertState,
    SeriesPoint,
    Severity,
    Status,
    fingerprint,
)
from alertd.rules.ruleset import Group

SOURCE_ALERT = "AlertdSourceUnavailable"
RULE_ALERT = "AlertdRuleFailing"
LAG_ALERT = LAGGING_ALERT
HEALTH_ALERTS = frozenset({SOURCE_ALERT, RULE_ALERT, LAG_ALERT})
_NEVER = dt.timedelta(days=3650)


def dataset_owners(groups: Sequence[Group]) -> dict[str, str]:
    """The group whose ticks judge each dataset's own alerts: of the groups reading it, the
    one ticking most often (an outage is seen soonest), then the first by name."""
    owners: dict[str, str] = {}
    for group in sorted(groups, key=lambda g: (g.interval, g.name)):
        for rule in group.rules:
            for dataset in rule.datasets:
                owners.setdefault(dataset, group.name)
    return owners


def source_step(
    outcomes: Mapping[str, str | None],
    states: Mapping[str, AlertState],
    down_after: dt.timedelta,
    now: dt.datetime,
    out: Step,
) -> None:
    """Advance the source alert of each dataset queried this tick.

    `outcomes` maps a dataset to its error message, or None when its queries succeeded.
    """
    health_step(SOURCE_ALERT, "dataset", outcomes, states, down_after, now, out)


def lag_step(
    freshness: LagEstimator,
    datasets: Iterable[str],
    states: Mapping[str, AlertState],
    lagging_for: dt.timedelta,
    now: dt.datetime,
    out: Step,
) -> None:
    """Record the lag of each dataset answered this tick (as the lag alert's history, which
    `alertd alerts` reads) and, with an automatic delay, advance that alert: breached while
    the lag is past the longest delay the settings allow."""
    limit = freshness.bounds.maximum.total_seconds()
    outcomes: dict[str, str | None] = {}
    for dataset in datasets:
        lag = freshness.lag(dataset)
        if lag is None:
            continue
        key = lag_fingerprint(dataset)
        out.points.append(SeriesPoint(key, now, lag.total_seconds(), 0))
        if not freshness.auto:
            continue
        late = freshness.lagging(dataset)
        outcomes[dataset] = (
            f"rows land {lag.total_seconds():.0f} s late, past the {limit:.0f} s "
            "evaluation delay: windows are judged before all their rows are in"
            if late
            else None
        )
    health_step(LAG_ALERT, "dataset", outcomes, states, lagging_for, now, out, prefix="")


def lag_fingerprint(dataset: str) -> str:
    return fingerprint(LAG_ALERT, (("dataset", dataset),))


def health_step(
    alert: str,
    label: str,
    outcomes: Mapping[str, str | None],
    states: Mapping[str, AlertState],
    down_after: dt.timedelta,
    now: dt.datetime,
    out: Step,
    *,
    prefix: str = "failing: ",
) -> None:
    """Advance `alert{label=name}` for each name: breached by an error, cleared by None."""
    policy = Policy(
        for_=down_after, keep_firing_for=dt.timedelta(0), no_data="keep", stale_after=_NEVER
    )
    for name, error in outcomes.items():
        labels = ((label, name),)
        key = _fingerprint(alert, labels)
        before = states.get(key)
        if before is None and error is None:
            continue  # healthy and no alert: what `advance` would decide, without building it
        state = before or AlertState(key, alert, labels, Status.INACTIVE)
        if error is None:
            verdict = Verdict(Condition.CLEAR)
        else:
            verdict = Verdict(
                Condition.BREACH, Severity.CRITICAL, threshold=f"{prefix}{error[:300]}"
            )
        after, transition = advance(state, verdict, policy, now)
        out.record(before, after, transition)


# Fingerprints of the health alerts, by alert and label: a handful, asked for every tick.
_FINGERPRINTS: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
_FINGERPRINTS_KEPT = 10_000


def _fingerprint(alert: str, labels: tuple[tuple[str, str], ...]) -> str:
    found = _FINGERPRINTS.get((alert, labels))
    if found is None:
        if len(_FINGERPRINTS) > _FINGERPRINTS_KEPT:
            _FINGERPRINTS.clear()
        found = _FINGERPRINTS[alert, labels] = fingerprint(alert, labels)
    return found
