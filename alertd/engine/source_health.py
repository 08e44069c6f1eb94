"""`AlertdSourceUnavailable`: a source that keeps failing raises an alert of its own.

It runs through the same lifecycle as every rule: each tick a dataset's queries failed is a
breach, each tick they succeeded is a clear, and `for` is the time a source may be down
before anyone is paged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from alertd.engine.lifecycle import Policy, advance
from alertd.engine.step import Step
from alertd.engine.verdict import Condition, Verdict
from alertd.model import AlertState, Labels, Severity, Status, fingerprint

SOURCE_ALERT = "AlertdSourceUnavailable"
_NEVER = dt.timedelta(days=3650)


def source_labels(dataset: str) -> Labels:
    return (("dataset", dataset),)


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
    policy = Policy(
        for_=down_after, keep_firing_for=dt.timedelta(0), no_data="keep", stale_after=_NEVER
    )
    for dataset, error in outcomes.items():
        labels = source_labels(dataset)
        key = fingerprint(SOURCE_ALERT, labels)
        before = states.get(key)
        state = before or AlertState(key, SOURCE_ALERT, labels, Status.INACTIVE)
        if error is None:
            verdict = Verdict(Condition.CLEAR)
        else:
            verdict = Verdict(
                Condition.BREACH, Severity.CRITICAL, threshold=f"failing: {error[:300]}"
            )
        after, transition = advance(state, verdict, policy, now)
        out.record(before, after, transition)
