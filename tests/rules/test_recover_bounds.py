"""A recover condition must lie on the quiet side of the mildest threshold, which binds."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.rules.loader import load

DATASETS = """\
datasets:
  db:
    blobs: [table]
    doubles: [duration]
"""


def recover_errors(tmp_path: Path, thresholds: str, recover: str) -> list[str]:
    rule = f"""\
group: g
rules:
  - alert: R
    dataset: db
    value: count()
    thresholds: {thresholds}
    recover: "{recover}"
"""
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "r.yaml").write_text(rule)
    return [e.message for e in load([tmp_path]).errors]


@pytest.mark.parametrize(
    ("thresholds", "recover", "expected"),
    [
        (
            '{warning: "> 10", critical: "> 20"}',
            "> 5",
            "'> 5' must be '<' or '<=' a bound at or below warning '> 10'",
        ),
        (
            '{warning: "> 10", critical: "> 20"}',
            "< 15",
            "'< 15' must be '<' or '<=' a bound at or below warning '> 10'",
        ),
        (
            '{warning: "< 10", critical: "< 5"}',
            "< 20",
            "'< 20' must be '>' or '>=' a bound at or above warning '< 10'",
        ),
        (
            '{warning: "< 10", critical: "< 5"}',
            "> 7",
            "'> 7' must be '>' or '>=' a bound at or above warning '< 10'",
        ),
    ],
)
def test_a_recover_on_the_wrong_side_names_the_mildest_threshold(
    tmp_path: Path, thresholds: str, recover: str, expected: str
) -> None:
    assert recover_errors(tmp_path, thresholds, recover) == [f"rules[0].recover: {expected}"]


@pytest.mark.parametrize(
    ("thresholds", "recover"),
    [
        ('{warning: "> 10", critical: "> 20"}', "<= 10"),
        ('{warning: "> 10", critical: "> 20"}', "< 5"),
        ('{warning: "< 10", critical: "< 5"}', ">= 10"),
    ],
)
def test_a_recover_at_or_past_the_mildest_threshold_is_accepted(
    tmp_path: Path, thresholds: str, recover: str
) -> None:
    assert recover_errors(tmp_path, thresholds, recover) == []
