from pathlib import Path

import pytest

from alertd.cli import main

RULES = Path(__file__).parents[2] / "rules"


def test_the_shipped_rules_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(RULES)]) == 0
    assert capsys.readouterr().out.startswith(
        "ok: 9 rules in 3 groups over 3 datasets and 2 other sources"
    )


def test_every_error_is_printed_as_file_line_col_and_the_exit_code_is_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (tmp_path / "bad.yaml").write_text(
        "group: g\nrules:\n"
        "  - alert: A\n    dataset: pitchey_database_metrics\n    value: p95(table)\n"
        '    thresholds: {critical: "> 1"}\n'
        "  - alert: B\n    dataset: pitchey_database_metrics\n    value: count(\n"
        '    thresholds: {critical: "> 1"}\n'
    )
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{tmp_path}/bad.yaml:5:16: rules[0].value: p95() needs a number, but 'table' is a "
        "string field of pitchey_database_metrics",
        f"{tmp_path}/bad.yaml:9:18: rules[1].value: expression ends too early",
        "2 error(s) in 2 file(s)",
    ]


def test_a_literal_that_cannot_be_made_safe_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (tmp_path / "r.yaml").write_text(
        "group: g\nrules:\n"
        "  - alert: A\n    dataset: pitchey_database_metrics\n"
        '    value: count(table == "a\\nb")\n'
        '    thresholds: {critical: "> 1"}\n'
    )
    assert main(["check", str(tmp_path)]) == 1
    assert "contains a control character" in capsys.readouterr().err


def test_an_empty_directory_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 1
    assert "no rule files found" in capsys.readouterr().err


def test_a_unit_on_a_rule_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    rule = "  - alert: {name}\n    dataset: pitchey_database_metrics\n    value: p95(duration)\n"
    (tmp_path / "r.yaml").write_text(
        "group: g\nrules:\n"
        + rule.format(name="A")
        + '    thresholds: {critical: "> 200"}\n    unit: ms\n'
        + rule.format(name="B")
        + '    thresholds: {critical: "> 200"}\n    unit: "<b>ms</b>"\n'
    )
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith(f"{tmp_path}/r.yaml:12:11: rules[1].unit: unit must be one of ")
    assert err[1] == "1 error(s) in 2 file(s)"


def test_a_prometheus_style_template_is_named_in_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    (tmp_path / "r.yaml").write_text(
        "group: g\nrules:\n"
        "  - alert: A\n    dataset: pitchey_database_metrics\n    value: p95(duration)\n"
        '    thresholds: {critical: "> 200"}\n'
        '    annotations: {summary: "{{ $labels.table }} is slow"}\n'
    )
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "rules[0].annotations.summary: template: $labels.table is Prometheus syntax" in err
    assert "write labels.table (no $)" in err
