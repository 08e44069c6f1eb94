"""Rules on declared sources: planned as usual, answered from records in Python."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alertd.query.plan import plan
from alertd.query.records import Record, answer
from alertd.query.results import read
from alertd.rules.loader import load

AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SOURCES = """\
sources:
  workers:
    type: workers_graphql
    scripts: {api: {cpu_ms: 50}, cron: {cpu_ms: 20}}
"""
RULES = """\
group: g
rules:
  - alert: Cpu
    source: workers
    value: max(cpuTimeP99 / cpuLimitMs)
    by: [scriptName]
    thresholds: {warning: "> 90%"}
  - alert: Errors
    source: workers
    value: sum(errors) / sum(requests)
    by: [scriptName]
    thresholds: {warning: "> 5%"}
  - alert: Throws
    source: workers
    value: count(status == "scriptThrewException")
    where: scriptName in ["api"]
    thresholds: {warning: "> 0"}
"""
RECORDS: list[Record] = [
    {"scriptName": "api", "status": "success", "requests": 90.0, "errors": 0.0,
     "cpuTimeP99": 40.0, "cpuLimitMs": 50.0},
    {"scriptName": "api", "status": "scriptThrewException", "requests": 10.0, "errors": 10.0,
     "cpuTimeP99": 47.5, "cpuLimitMs": 50.0},
    {"scriptName": "cron", "status": "success", "requests": 4.0, "errors": 0.0,
     "cpuTimeP99": 5.0, "cpuLimitMs": 20.0},
]  # fmt: skip


def test_each_rule_gets_its_value_per_series(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES)
    (tmp_path / "g.yaml").write_text(RULES)
    loaded = load([tmp_path])
    assert loaded.errors == []
    ruleset = loaded.ruleset
    planned = plan(ruleset.rules, ruleset.datasets, AT)
    results = read(planned, {q: answer(q, RECORDS) for q in planned.queries})
    values = {
        name: {dict(labels).get("scriptName", ""): s.value for labels, s in r.series.items()}
        for name, r in results.items()
    }
    assert values == {
        "Cpu": {"api": 0.95, "cron": 0.25},
        "Errors": {"api": 0.1, "cron": 0.0},
        "Throws": {"": 1.0},
    }


def test_a_source_named_like_a_dataset_or_unknown_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "datasets.yaml").write_text("datasets:\n  workers: {blobs: [a]}\n")
    (tmp_path / "sources.yaml").write_text(SOURCES)
    (tmp_path / "g.yaml").write_text(RULES.replace("source: workers", "source: wrokers"))
    messages = [str(e) for e in load([tmp_path]).errors]
    assert any(
        "sources.yaml:2:3" in m and "source 'workers' is already declared as a dataset" in m
        for m in messages
    ), messages
    assert any("g.yaml:4:13" in m and "unknown dataset 'wrokers'" in m for m in messages)


def test_a_bad_declaration_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  health:\n    type: http_json\n    url: ftp://x\n    values: {v: a}\n"
    )
    (tmp_path / "g.yaml").write_text(RULES.replace("workers", "health"))
    messages = [str(e) for e in load([tmp_path]).errors]
    assert any("sources.yaml:4:10" in m and "url" in m for m in messages), messages
