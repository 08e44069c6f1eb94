"""A rule file checked on its own is read with the datasets.yaml beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main
from alertd.rules.loader import load

RULES = Path(__file__).parents[2] / "rules"

LONE_RULE = """\
group: g
rules:
  - alert: Busy
    dataset: db
    value: count()
    thresholds: {critical: "> 1"}
"""


def test_one_file_of_the_shipped_rules_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(RULES / "database.yaml")]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_a_lone_file_without_datasets_beside_it_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.yaml").write_text(LONE_RULE)

    assert main(["check", str(tmp_path / "r.yaml")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{tmp_path}/r.yaml:1:1: no dataset schemas found (datasets.yaml)" in err


def test_datasets_named_among_the_paths_win_over_the_file_beside(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(LONE_RULE)
    (tmp_path / "rules" / "datasets.yaml").write_text("datasets: {db: {blobs: [x, x]}}\n")
    (tmp_path / "schemas.yaml").write_text("datasets: {db: {blobs: [table]}}\n")

    result = load([tmp_path / "rules" / "r.yaml", tmp_path / "schemas.yaml"])

    assert result.errors == []
    assert result.files == [tmp_path / "rules" / "r.yaml", tmp_path / "schemas.yaml"]


def test_a_directory_does_not_look_beside_itself(tmp_path: Path) -> None:
    (tmp_path / "datasets.yaml").write_text("datasets: {db: {blobs: [table]}}\n")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(LONE_RULE)

    messages = [e.message for e in load([tmp_path / "rules"]).errors]

    assert "no dataset schemas found (datasets.yaml)" in messages
