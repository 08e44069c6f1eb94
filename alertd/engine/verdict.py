"""What one series' value says about its rule: breach, clear, no data, or cannot judge."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from alertd.model import Severity
from alertd.query.results import SeriesValue
from alertd.rules.ruleset import Rule


class Condition(enum.Enum):
    BREACH = "breach"
    CLEAR = "clear"
    NO_DATA = "no_data"  # no rows, or a value that cannot be computed (0/0)
    UNKNOWN = "unknown"  # rows, but fewer than min_samples: too few to judge either way


@dataclass(frozen=True)
class Verdict:
    condition: Condition
    severity: Severity | None = None
    value: float | None = None
    samples: int = 0
    threshold: str | None = None


def judge(rule: Rule, series: SeriesValue | None, *, firing: bool) -> Verdict:
    """Judge one series: the most severe threshold that holds wins.

    While firing, a rule with `recover` stays in breach (at its mildest severity) until the
    recover condition holds: that gap is the hysteresis that stops flapping pages.
    """
    if series is None or series.value is None:
        return Verdict(Condition.NO_DATA, samples=series.samples if series else 0)
    value, samples = series.value, series.samples
    if samples < rule.min_samples:
        return Verdict(Condition.UNKNOWN, value=value, samples=samples)
    for severity in (Severity.CRITICAL, Severity.WARNING):
        threshold = rule.thresholds.get(severity)
        if threshold is not None and threshold.holds(value):
            return Verdict(Condition.BREACH, severity, value, samples, threshold.text)
    if firing and rule.recover is not None and not rule.recover.holds(value):
        mildest = min(rule.thresholds, key=lambda s: s.rank)
        return Verdict(Condition.BREACH, mildest, value, samples, f"not yet {rule.recover.text}")
    return Verdict(Condition.CLEAR, value=value, samples=samples)
