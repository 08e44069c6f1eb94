"""The evidence behind a ratio or a quantile rides in the statements a tick already sends,
and reads back as the weighted shares and raw rows the data hold (through the emulator)."""

from __future__ import annotations

import dataclasses

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.query.evidence import weighed_aggregate
from alertd.query.plan import plan
from alertd.rules.ruleset import RuleSet
from tests.query.emulated import AT, evaluate, point, shipped_rules

DATASET = "pitchey_database_metrics"
USERS = (("table", "users"),)


def with_confidence(ruleset: RuleSet, confidence: float | None) -> RuleSet:
    groups = tuple(
        dataclasses.replace(
            group,
            rules=tuple(dataclasses.replace(r, confidence=confidence) for r in group.rules),
        )
        for group in ruleset.groups
    )
    return RuleSet(ruleset.datasets, groups)


def test_weighing_the_evidence_sends_no_more_statements_per_tick() -> None:
    shipped = shipped_rules()
    weighed, plain = with_confidence(shipped, 0.95), with_confidence(shipped, None)
    assert any(weighed_aggregate(rule) is not None for rule in weighed.rules)
    for on, off in zip(weighed.groups, plain.groups, strict=True):
        with_evidence = plan(on.rules, weighed.datasets, AT).queries
        without = plan(off.rules, plain.datasets, AT).queries
        assert len(with_evidence) == len(without), on.name
        asked = sum(len(q.measures) for q in with_evidence)
        assert asked > sum(len(q.measures) for q in without) or not any(
            weighed_aggregate(rule) for rule in on.rules
        )


def sampled(seconds_before: int, duration: float, status: str, weight: int) -> dict[str, object]:
    blobs = ["SELECT", "users", status, "", "/api", "u1"]
    return {**point(seconds_before, blobs, [duration, 1.0, 0.0]), "sample_interval": weight}


@pytest.mark.anyio
async def test_a_quantile_reads_back_the_weight_and_rows_above_each_bound(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    # 30 light rows at 100 ms; 2 rows at 160 ms weighing 5; 1 row at 250 ms weighing 10.
    rows = [sampled(5 + i, 100.0, "success", 1) for i in range(30)]
    rows += [sampled(50, 160.0, "success", 5), sampled(60, 160.0, "success", 5)]
    rows += [sampled(70, 250.0, "success", 10), sampled(80, 999.0, "error", 1)]
    ae.write(DATASET, rows)
    ruleset = with_confidence(shipped_rules(), 0.95)
    rule = next(r for r in ruleset.rules if r.name == "SlowQueryP95")
    series = (await evaluate(ae, ruleset, [rule]))[rule.name].series[USERS]
    evidence = series.evidence
    assert evidence is not None
    assert evidence.level == 0.95
    assert evidence.above is not None
    total = 30 + 10 + 10
    above_150 = evidence.above[150.0]
    assert (above_150.rows, above_150.of) == (3, 33)
    assert above_150.share == pytest.approx(20 / total)
    above_200 = evidence.above[200.0]
    assert (above_200.rows, above_200.share) == (1, pytest.approx(10 / total))
    # Squares: 30 + 2·25 + 100 = 180; above 200 ms only the row weighing 10.
    share = 10 / total
    spread = 100 * (1 - share) ** 2 + 80 * share**2
    assert above_200.effective == pytest.approx(share * (1 - share) * total**2 / spread)


@pytest.mark.anyio
async def test_a_ratio_reads_back_its_matching_rows_and_effective_size(
    ae: RunningEmulator,
) -> None:
    ae.reset()
    rows = [sampled(5 + i, 10.0, "success", 2) for i in range(20)]
    rows += [sampled(40 + i, 10.0, "error", 2) for i in range(5)]
    ae.write(DATASET, rows)
    ruleset = with_confidence(shipped_rules(), 0.95)
    rule = next(r for r in ruleset.rules if r.name == "FailedQueryRate")
    series = (await evaluate(ae, ruleset, [rule]))[rule.name].series[USERS]
    assert series.evidence is not None
    ratio = series.evidence.ratio
    assert ratio is not None
    # Equal weights: the effective size is the raw row count.
    assert (ratio.rows, ratio.of, ratio.share) == (5, 25, pytest.approx(0.2))
    assert ratio.effective == pytest.approx(25)
