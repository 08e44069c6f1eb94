"""What one series' value says about its rule: breach, clear, no data, or cannot judge."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from alertd.model import Severity
from alertd.query.results import SeriesValue
from alertd.rules.ruleset import Rule
from alertd.rules.thresholds import Threshold
from alertd.rules.units import value_in_unit


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


def judge(
    rule: Rule, series: SeriesValue | None, *, firing: bool, severity: Severity | None = None
) -> Verdict:
    """Judge one series: the most severe threshold that holds wins.

    While firing, a rule with `recover` stays in breach (at its mildest severity) until the
    recover condition holds: that gap is the hysteresis that stops flapping pages. The
    same gap applies to stepping down: firing at `severity`, the alert keeps it until the
    value is that far past its bound on the quiet side.
    """
    if series is None or series.value is None:
        return Verdict(Condition.NO_DATA, samples=series.samples if series else 0)
    value, samples = series.value, series.samples
    if samples < rule.min_samples:
        return Verdict(Condition.UNKNOWN, value=value, samples=samples)
    held = _held(rule, value, severity) if firing and severity is not None else None
    if held is not None:
        return Verdict(Condition.BREACH, severity, value, samples, held)
    for severity in (Severity.CRITICAL, Severity.WARNING):
        threshold = rule.thresholds.get(severity)
        if threshold is not None and threshold.holds(value):
            return Verdict(Condition.BREACH, severity, value, samples, threshold.shown)
    if firing and rule.recover is not None and not rule.recover.holds(value):
        mildest = min(rule.thresholds, key=lambda s: s.rank)
        return Verdict(Condition.BREACH, mildest, value, samples, f"not yet {rule.recover.shown}")
    return Verdict(Condition.CLEAR, value=value, samples=samples)


def _held(rule: Rule, value: float, severity: Severity) -> str | None:
    """Why a firing alert keeps `severity` though its bound no longer holds; None if not."""
    threshold = rule.thresholds.get(severity)
    if rule.recover is None or threshold is None or threshold.holds(value):
        return None
    mildest = min(rule.thresholds, key=lambda s: s.rank)
    if severity is mildest:
        return None  # the mildest severity already waits for `recover` itself
    margin = abs(rule.thresholds[mildest].bound - rule.recover.bound)
    if threshold.upward and value > threshold.bound - margin:
        return f"{threshold.shown}, until below {_shown(threshold, threshold.bound - margin)}"
    if threshold.downward and value < threshold.bound + margin:
        return f"{threshold.shown}, until above {_shown(threshold, threshold.bound + margin)}"
    return None


def _shown(threshold: Threshold, bound: float) -> str:
    """A bound shown as the rule's thresholds are (a percent stays a percent)."""
    if threshold.unit is not None:
        return value_in_unit(bound, threshold.unit)
    return f"{bound:.6g}"
