"""Judging with `confidence`: a breach needs rows that make it significant, recovery the
mirror, and every verdict says what the rows show in words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alertd.engine.lifecycle import advance
from alertd.engine.step import policy
from alertd.engine.verdict import Condition, judge
from alertd.model import AlertState, Severity, Status
from alertd.query.evidence import Evidence, Proportion, effective_size
from alertd.query.results import SeriesValue
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule

DATASETS = "datasets:\n  db:\n    blobs: [table, status]\n    doubles: [duration]\n"
P95_RULE = """group: g
interval: 30s
rules:
  - alert: SlowQueryP95
    dataset: db
    value: p95(duration)
    by: [table]
    min_samples: 20
    thresholds: {warning: "> 150", critical: "> 200"}
    recover: "< 130"
    unit: ms
    confidence: %s
"""


def rule_from(tmp_path: Path, text: str) -> Rule:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "g.yaml").write_text(text)
    loaded = load([tmp_path])
    assert loaded.errors == []
    return loaded.ruleset.rules[0]


def p95(value: float, above: dict[float, tuple[int, int]]) -> SeriesValue:
    """A P95 over `of` equally weighted rows, `rows` of them above each bound."""
    shares = {
        bound: Proportion(rows / of, float(of), rows, of) for bound, (rows, of) in above.items()
    }
    of = next(iter(above.values()))[1]
    return SeriesValue(value, of, Evidence(0.95, above=shares))


def test_a_significant_breach_pages_and_says_why(tmp_path: Path) -> None:
    rule = rule_from(tmp_path, P95_RULE % "0.95")
    series = p95(152.0, {130.0: (90, 480), 150.0: (61, 480), 200.0: (3, 480)})
    verdict = judge(rule, series, firing=False)
    assert (verdict.condition, verdict.severity) == (Condition.BREACH, Severity.WARNING)
    assert verdict.evidence == (
        "p95(duration) 152 ms > 150 ms: 61 of 480 sampled rows above 150 ms, 95 % confident"
    )


def test_one_heavy_row_is_no_breach(tmp_path: Path) -> None:
    rule = rule_from(tmp_path, P95_RULE % "0.95")
    # 40 rows weighing 1 and one weighing 10 above the bound: 20 % of the weight.
    share = 10 / 49
    n = effective_size(share, 49, 39 + 100, 100)
    heavy = Proportion(share, n, 1, 40)
    evidence = Evidence(0.95, above={130.0: heavy, 150.0: heavy, 200.0: Proportion(0, n, 0, 40)})
    verdict = judge(rule, SeriesValue(151.0, 40, evidence), firing=False)
    assert verdict.condition is Condition.CLEAR
    assert verdict.evidence is not None
    assert "1 of 40 sampled rows above 150 ms, not 95 % confident" in verdict.evidence
    # Without confidence the same value pages.
    plain = rule_from(tmp_path, P95_RULE % "off")
    assert plain.confidence is None
    assert judge(plain, SeriesValue(151.0, 40, None), firing=False).condition is Condition.BREACH


def test_a_firing_alert_at_its_bound_keeps_firing_until_the_rows_show_recovery(
    tmp_path: Path,
) -> None:
    rule = rule_from(tmp_path, P95_RULE % "0.95")
    hovering = p95(149.0, {130.0: (40, 480), 150.0: (23, 480), 200.0: (2, 480)})
    held = judge(rule, hovering, firing=True, severity=Severity.WARNING)
    assert (held.condition, held.severity) == (Condition.BREACH, Severity.WARNING)
    # The recovery bound is not reached, and the words do not say it is.
    assert held.evidence == (
        "p95(duration) 149 ms, not yet < 130 ms: 40 of 480 sampled rows above 130 ms,"
        " not 95 % confident"
    )
    recovered = p95(100.0, {130.0: (8, 480), 150.0: (3, 480), 200.0: (0, 480)})
    verdict = judge(rule, recovered, firing=True, severity=Severity.WARNING)
    assert verdict.condition is Condition.CLEAR
    assert verdict.evidence == (
        "p95(duration) 100 ms < 130 ms: 8 of 480 sampled rows above 130 ms, 95 % confident"
    )


def test_too_few_rows_to_ever_be_sure_leave_the_value_to_decide(tmp_path: Path) -> None:
    rule = rule_from(tmp_path, P95_RULE % "0.95")
    # 25 rows, none above 130 ms: 0.95^25 = 28 % is never below 5 %.
    few = p95(100.0, {130.0: (0, 25), 150.0: (0, 25), 200.0: (0, 25)})
    verdict = judge(rule, few, firing=True, severity=Severity.WARNING)
    assert verdict.condition is Condition.CLEAR
    assert verdict.evidence is not None
    assert "too few to be 95 % confident" in verdict.evidence


def test_a_ratio_breach_is_weighed_by_its_wilson_interval(tmp_path: Path) -> None:
    text = (
        "group: g\ninterval: 30s\nrules:\n  - alert: Failed\n    dataset: db\n"
        '    value: ratio(status == "error")\n    thresholds: {warning: "> 1%%"}\n'
        "    confidence: %s\n"
    )
    rule = rule_from(tmp_path, text % "0.95")
    few = SeriesValue(0.02, 100, Evidence(None, ratio=Proportion(0.02, 100.0, 2, 100)))
    assert judge(rule, few, firing=False).condition is Condition.CLEAR
    many = SeriesValue(0.02, 5000, Evidence(None, ratio=Proportion(0.02, 5000.0, 100, 5000)))
    verdict = judge(rule, many, firing=False)
    assert verdict.condition is Condition.BREACH
    assert verdict.evidence is not None
    assert verdict.evidence.endswith("100 of 5000 sampled rows match, 95 % confident")


@pytest.mark.parametrize("value", ["count()", "avg(duration)"])
def test_confidence_on_a_value_without_a_share_is_refused_with_its_line(
    tmp_path: Path, value: str
) -> None:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    text = (
        f"group: g\ninterval: 30s\nrules:\n  - alert: A\n    dataset: db\n    value: {value}\n"
        '    thresholds: {warning: "> 1"}\n    confidence: 0.95\n'
    )
    (tmp_path / "g.yaml").write_text(text)
    errors = [str(e) for e in load([tmp_path]).errors]
    assert len(errors) == 1
    assert "g.yaml:8" in errors[0]
    assert "confidence" in errors[0]


def test_a_confidence_outside_its_range_is_refused(tmp_path: Path) -> None:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "g.yaml").write_text(P95_RULE % "95")
    errors = [str(e) for e in load([tmp_path]).errors]
    assert len(errors) == 1
    assert "g.yaml:12" in errors[0]
    assert "below 1" in errors[0]


def test_the_transition_states_the_evidence(tmp_path: Path) -> None:
    rule = rule_from(tmp_path, P95_RULE % "0.95")
    series = p95(152.0, {130.0: (90, 480), 150.0: (61, 480), 200.0: (3, 480)})
    verdict = judge(rule, series, firing=False)
    state = AlertState("f", rule.name, (("table", "users"),), Status.INACTIVE)
    at = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    _, transition = advance(state, verdict, policy(rule, dt.timedelta(seconds=30)), at)
    assert transition is not None
    assert transition.reason == (
        "p95(duration) 152 ms > 150 ms: 61 of 480 sampled rows above 150 ms, 95 % confident"
    )
