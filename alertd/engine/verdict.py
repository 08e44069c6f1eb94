"""What one series' value says about its rule: breach, clear, no data, or cannot judge."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from alertd.engine.significance import Weighed, mirror, weigh
from alertd.model import Severity
from alertd.query.evidence import Evidence
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
    # What the sampled rows say, in words, for a rule with `confidence`.
    evidence: str | None = None


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
    if rule.confidence is not None and series.evidence is not None:
        return _judge_weighed(rule, value, samples, series.evidence, firing, severity)
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


def _judge_weighed(
    rule: Rule,
    value: float,
    samples: int,
    evidence: Evidence,
    firing: bool,
    severity: Severity | None,
) -> Verdict:
    """Judge by what the rows show with the rule's confidence, not by the value alone.

    A breach counts only when the rows make it significant, and a firing alert resolves
    only when they make the quiet side significant (`recover`, or the mirror of its mildest
    threshold): between the two the state stays as it is, so a series hovering at its
    bound neither pages on one heavy sampled row nor flaps. Where the rows are too few for
    any outcome to be significant (a small series and a recovery bound near 0), the
    value alone decides, as without `confidence`, so an alert never sticks for want of rows.
    """
    assert rule.confidence is not None
    confidence = rule.confidence
    found: Verdict | None = None
    doubt: str | None = None
    for level in (Severity.CRITICAL, Severity.WARNING):
        threshold = rule.thresholds.get(level)
        if threshold is None or not threshold.holds(value):
            continue
        weighed = weigh(evidence, threshold, confidence)
        words = _said(rule, value, threshold, weighed)
        if weighed is None or not weighed.decidable or weighed.sure:
            found = Verdict(Condition.BREACH, level, value, samples, threshold.shown, words)
            break
        doubt = doubt or words
    if not firing or severity is None:
        return found or Verdict(Condition.CLEAR, value=value, samples=samples, evidence=doubt)
    if found is not None and found.severity is not None and found.severity.rank >= severity.rank:
        return found
    mildest = min(rule.thresholds, key=lambda s: s.rank)
    quiet = rule.recover or mirror(rule.thresholds[mildest])
    recovery = weigh(evidence, quiet, confidence)
    words = _said(rule, value, quiet, recovery)
    if recovery.sure if recovery is not None and recovery.decidable else quiet.holds(value):
        return Verdict(Condition.CLEAR, value=value, samples=samples, evidence=words)
    # Not yet shown to be quiet: keep firing, at a lower severity only once the rows
    # show the current one no longer holds.
    current = rule.thresholds.get(severity)
    if current is not None:
        stepped = weigh(evidence, mirror(current), confidence)
        if stepped is None or not stepped.decidable:
            holds = current.holds(value)
        else:
            holds = not stepped.sure
        if holds:
            return Verdict(Condition.BREACH, severity, value, samples, current.shown, words)
    if found is not None:
        return found
    shown = f"not yet {quiet.shown}"
    return Verdict(Condition.BREACH, mildest, value, samples, shown, words)


def _said(rule: Rule, value: float, threshold: Threshold, weighed: Weighed | None) -> str:
    """`p95(duration) 152 ms > 150 ms: 61 of 480 sampled rows above 150 ms, 95 % confident`;
    a bound the value has not reached yet (a firing alert's recovery) reads `423 ms, not
    yet < 350 ms`, never as if it held."""
    shown = f"{value:.6g}" if rule.unit is None else value_in_unit(value, rule.unit)
    reached = threshold.holds(value)
    said = f"{rule.value_text} {shown}{'' if reached else ', not yet'} {threshold.shown}"
    return said if weighed is None else f"{said}: {weighed.words}"


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
