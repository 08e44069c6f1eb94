"""`alertd test`: the shipped rules' tests pass; a wrong expectation fails with a diff and
JUnit XML; a broken test file is named by file, line and field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.commands.ruletests.series import expand

ROOT = Path(__file__).parents[2]
RULES = ROOT / "rules"

WRONG = """\
rule_files: [{rules}/datasets.yaml, {rules}/database.yaml]
tests:
  - name: right
    input:
      - dataset: pitchey_database_metrics
        every: 10s
        blobs: {{table: users, status: success}}
        values: {{duration: "250x59"}}
    eval:
      - at: 8m
        alerts:
          - alert: SlowQueryP95
            severity: critical
            labels: {{table: users, team: database}}
  - name: wrong severity and summary
    input:
      - dataset: pitchey_database_metrics
        every: 10s
        blobs: {{table: users, status: success}}
        values: {{duration: "250x59"}}
    eval:
      - at: 8m
        alerts:
          - alert: SlowQueryP95
            severity: warning
            labels: {{table: users, team: database}}
            annotations: {{summary: "P95 query time on users is 99 ms"}}
    notifications: []
"""


def test_every_shipped_rule_has_a_passing_test(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((RULES / "tests").glob("*.yaml"))
    assert main(["test", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    tested = "\n".join(f.read_text() for f in files)
    for rule_file in ("api.yaml", "database.yaml", "workers.yaml"):
        for line in (RULES / rule_file).read_text().splitlines():
            if line.strip().startswith("- alert:"):
                name = line.split(":", 1)[1].strip()
                assert f"alert: {name}" in tested, f"{name} has no test in rules/tests"


def test_a_wrong_expectation_fails_with_a_diff_and_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_file = tmp_path / "wrong.yaml"
    test_file.write_text(WRONG.format(rules=RULES))
    junit = tmp_path / "junit.xml"
    assert main(["test", str(test_file), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert f"PASS {test_file}: right" in out
    assert f"FAIL {test_file}: wrong severity and summary" in out
    assert "    alerts at 8m differ:" in out
    assert "-  severity: warning" in out
    assert "+  severity: critical" in out
    assert "-    summary: P95 query time on users is 99 ms" in out
    assert "+    summary: P95 query time on users is 250.0 ms" in out
    assert "    notifications differ:" in out
    assert "+  kind: firing" in out
    assert out.endswith("1 passed, 1 failed\n")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["right"].find("failure") is None
    failure = cases["wrong severity and summary"].find("failure")
    assert failure is not None
    assert failure.get("message") == "alerts at 8m differ:"
    assert "+  severity: critical" in (failure.text or "")


def test_a_misspelt_field_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_file = tmp_path / "bad.yaml"
    test_file.write_text(WRONG.format(rules=RULES).replace("severity: warning", "severty: x"))
    assert main(["test", str(test_file)]) == 1
    err = capsys.readouterr().err
    assert f"{test_file}:25:13: tests[1].eval[0].alerts[0].severty: Extra inputs" in err


def test_an_unknown_field_of_a_dataset_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_file = tmp_path / "bad.yaml"
    test_file.write_text(WRONG.format(rules=RULES).replace("{duration:", "{durration:", 1))
    assert main(["test", str(test_file)]) == 1
    err = capsys.readouterr().err
    assert "right: input[0].values.durration: pitchey_database_metrics has no double" in err


def test_series_notation() -> None:
    assert expand("1 2.5 _ 3") == [1.0, 2.5, None, 3.0]
    assert expand("1+2x3") == [1.0, 3.0, 5.0, 7.0]
    assert expand("10-1x2") == [10.0, 9.0, 8.0]
    assert expand("5x2 _x1") == [5.0, 5.0, 5.0, None, None]
    with pytest.raises(ValueError, match="cannot read 'abc'"):
        expand("1 abc")
