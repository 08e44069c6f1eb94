"""A rule's value must rest on data: a constant would never change, so never page or clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main
from alertd.errors import ExpressionError
from alertd.rules.loader import load
from alertd.rules.schema import Dataset
from alertd.rules.typecheck import parse_value

MESSAGE = "value must contain an aggregate such as count() or p95(x)"
DATASETS = """\
datasets:
  db:
    blobs: [table, status]
    doubles: [duration]
"""


def rule_file(value: str) -> str:
    return f"""\
group: g
rules:
  - alert: Constant
    dataset: db
    value: {value}
    thresholds: {{warning: "> 1"}}
"""


@pytest.mark.parametrize("text", ["5", "2 * 3 + 1", "-(4 / 2)"])
def test_a_value_without_an_aggregate_is_refused(db: Dataset, text: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_value(text, db)
    assert caught.value.message == MESSAGE
    assert caught.value.offset == 0


def test_a_constant_over_named_queries_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"must contain an aggregate"):
        parse_value("100 * 2", None, ["errors", "requests"])


@pytest.mark.parametrize("text", ["count() * 0", "100 * errors / requests"])
def test_arithmetic_around_an_aggregate_is_fine(db: Dataset, text: str) -> None:
    parse_value(text, db if "count" in text else None, ["errors", "requests"])


@pytest.mark.parametrize("value", ['"5"', "'2 * 3 + 1'"])
def test_the_loader_names_file_line_column_and_key(tmp_path: Path, value: str) -> None:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "r.yaml").write_text(rule_file(value))
    result = load([tmp_path])
    assert result.ruleset.rules == ()
    (error,) = result.errors
    assert (error.location.file, error.location.line) == (str(tmp_path / "r.yaml"), 5)
    assert error.location.column >= 12  # at the value, not at its key
    assert error.message == f"rules[0].value: {MESSAGE}"


def test_alertd_check_prints_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "r.yaml").write_text(rule_file('"5"'))
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{tmp_path}/r.yaml:5:")
    assert err[0].endswith(f": rules[0].value: {MESSAGE}")
    assert err[-1] == "1 error(s) in 2 file(s)"
