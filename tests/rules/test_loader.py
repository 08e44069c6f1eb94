import datetime as dt
from pathlib import Path

import pytest

from alertd.model import Severity
from alertd.rules.loader import load

DATASETS = """\
datasets:
  db:
    index: table
    blobs: [queryType, table, status]
    doubles: [duration]
  perf:
    blobs: [endpoint, statusCode]
    doubles: [duration]
    numeric_blobs: [statusCode]
"""

GOOD_RULE = """\
group: g
interval: 15s
labels: {team: db}
rules:
  - alert: Slow
    dataset: db
    value: p95(duration)
    where: status == "success"
    by: [table]
    window: 10m
    min_samples: 20
    thresholds: {warning: "> 150", critical: "> 200"}
    recover: "< 120"
    for: 1m
    keep_firing_for: 2m
    no_data: ok
    labels: {page: "yes"}
    annotations: {summary: "P95 on {{ labels.table }} is {{ value | round }} ms"}
"""


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def messages(tmp_path: Path) -> list[str]:
    result = load([tmp_path])
    return sorted(str(e).replace(str(tmp_path) + "/", "") for e in result.errors)


def test_a_good_rule_loads_with_every_field(tmp_path: Path) -> None:
    result = load([write(tmp_path, **{"datasets.yaml": DATASETS, "g.yaml": GOOD_RULE})])
    assert result.errors == []
    (group,) = result.ruleset.groups
    assert group.interval == dt.timedelta(seconds=15)
    (rule,) = group.rules
    assert rule.name == "Slow"
    assert rule.by == ("table",)
    assert rule.window == dt.timedelta(minutes=10)
    assert rule.thresholds[Severity.CRITICAL].bound == 200
    assert rule.thresholds[Severity.WARNING].holds(151)
    assert rule.recover is not None
    assert rule.recover.holds(119)
    assert rule.for_ == dt.timedelta(minutes=1)
    assert rule.keep_firing_for == dt.timedelta(minutes=2)
    assert rule.no_data == "ok"
    assert rule.labels == {"team": "db", "page": "yes"}
    assert str(rule.location).endswith("g.yaml:5:5")


def test_every_error_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    bad = """\
group: g
interval: 10x
rules:
  - alert: A
    dataset: db
    value: p95(table)
    where: status = "x"
    thresholds: {critical: "> 1"}
    colour: red
  - alert: B
    dataset: nope
    value: count()
    thresholds: {warnin: "> 1"}
    annotations: {summary: "{{ valu }}"}
  - alert: C
    dataset: db
    value: count()
    window: 5 minutes
    thresholds: {critical: "above 3"}
"""
    write(tmp_path, **{"datasets.yaml": DATASETS, "bad.yaml": bad})
    assert messages(tmp_path) == [
        "bad.yaml:11:14: rules[1].dataset: unknown dataset 'nope' (declared: db, perf)",
        "bad.yaml:13:18: rules[1].thresholds.warnin: unknown key 'warnin'",
        "bad.yaml:14:28: rules[1].annotations.summary: template: unknown variable valu "
        "(known: alert, annotations, labels, samples, severity, threshold, value, window)",
        "bad.yaml:18:13: rules[2].window: invalid duration '5 minutes': expected e.g. 30s, 5m, "
        "1h30m (units ms s m h d w)",
        "bad.yaml:19:28: rules[2].thresholds.critical: invalid threshold 'above 3': "
        "expected e.g. '> 200', '<= 0.7' or '< 70%'",
        "bad.yaml:2:11: interval: invalid duration '10x': expected e.g. 30s, 5m, 1h30m "
        "(units ms s m h d w)",
        "bad.yaml:6:16: rules[0].value: p95() needs a number, but 'table' is a string field of db",
        "bad.yaml:7:19: rules[0].where: unexpected character '='; compare with ==",
        "bad.yaml:9:5: rules[0].colour: unknown key 'colour'",
    ]


def test_good_rules_load_beside_bad_ones(tmp_path: Path) -> None:
    two = (
        GOOD_RULE
        + """\
  - alert: Broken
    dataset: db
    value: p95(status)
    thresholds: {critical: "> 1"}
"""
    )
    result = load([write(tmp_path, **{"datasets.yaml": DATASETS, "g.yaml": two})])
    assert [r.name for r in result.ruleset.rules] == ["Slow"]
    assert len(result.errors) == 1


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        (
            'thresholds: {warning: "> 200", critical: "> 100"}',
            "critical '> 100' is reached before warning '> 200'",
        ),
        ('thresholds: {warning: "> 200", critical: "< 100"}', "must point the same way"),
        (
            'thresholds: {critical: "> 200"}\n    recover: "< 250"',
            "'< 250' must be '<' or '<=' a bound at or below critical '> 200'",
        ),
        (
            'thresholds: {critical: "< 70%"}\n    recover: "< 80%"',
            "'< 80%' must be '>' or '>=' a bound at or above critical '< 70%'",
        ),
        ("thresholds: {}", "give at least one of warning, critical"),
        ('thresholds: {critical: "> 1"}\n    by: [colour]', "unknown field 'colour' in dataset db"),
        (
            'thresholds: {critical: "> 1"}\n    by: [table]\n    labels: {table: x}',
            "label 'table' is reserved or is already a group-by label",
        ),
        ('thresholds: {critical: "> 1"}\n    window: 91d', "must be at most 90d"),
        ('thresholds: {critical: "> 1"}\n    window: 500ms', "whole number of seconds"),
        (
            'thresholds: {critical: "> 1"}\n    no_data: maybe',
            "Input should be 'keep', 'ok' or 'alert'",
        ),
        (
            'thresholds: {critical: "> 1"}\n    annotations: {s: "{{ value | nosuch }}"}',
            "No filter named 'nosuch'",
        ),
    ],
)
def test_rule_level_mistakes_are_explained(tmp_path: Path, fragment: str, expected: str) -> None:
    rule = f"""\
group: g
rules:
  - alert: R
    dataset: db
    value: count()
    {fragment}
"""
    write(tmp_path, **{"datasets.yaml": DATASETS, "r.yaml": rule})
    found = messages(tmp_path)
    assert any(expected in m for m in found), found


def test_duplicate_alert_names_are_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "datasets.yaml": DATASETS,
            "a.yaml": GOOD_RULE,
            "b.yaml": GOOD_RULE.replace("group: g", "group: h"),
        },
    )
    (error,) = messages(tmp_path)
    assert error.startswith("b.yaml:5:12: alert 'Slow' is already defined at ")


def test_duplicate_yaml_keys_are_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "datasets.yaml": DATASETS,
            "a.yaml": GOOD_RULE.replace("    for: 1m\n", "    for: 1m\n    for: 2m\n"),
        },
    )
    assert messages(tmp_path) == ["a.yaml:15:5: duplicate key 'for'"]


def test_named_queries_combine_two_datasets(tmp_path: Path) -> None:
    rule = """\
group: g
rules:
  - alert: ErrorsPerRequest
    queries:
      errors: {dataset: db, value: count(status == "error")}
      requests: {dataset: perf, value: count(), where: statusCode < 500}
    value: errors / requests
    thresholds: {warning: "> 5%"}
"""
    result = load([write(tmp_path, **{"datasets.yaml": DATASETS, "r.yaml": rule})])
    assert result.errors == []
    (loaded,) = result.ruleset.rules
    assert loaded.datasets == ("db", "perf")
    assert loaded.thresholds[Severity.WARNING].bound == pytest.approx(0.05)


def test_a_file_that_is_not_a_rule_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, **{"datasets.yaml": DATASETS, "x.yaml": "hello: world\n"})
    assert messages(tmp_path) == [
        "x.yaml:1:1: not a rule file: expected a top-level `group:`, `datasets:` or `sources:` key"
    ]


def test_the_shipped_rules_load_cleanly() -> None:
    result = load([Path(__file__).parents[2] / "rules"])
    assert result.errors == []
    names = {r.name for r in result.ruleset.rules}
    assert {
        "SlowQueryP95",
        "ApiResponseP95",
        "HighErrorRate",
        "LowCacheHitRate",
        "FailedQueryRate",
        "DatabaseConnectionErrors",
    } <= names
