"""`alertd check` on receivers a route names whose secret is unset: a warning naming the
file and line, and an error with `--strict`."""

import shutil
from pathlib import Path

import pytest

from alertd.cli import main

RULES = Path(__file__).parents[2] / "rules"
NOTIFY = """\
receivers:
  - name: console
    console: {}
  - name: slack
    slack: {webhook_url: "${SLACK_WEBHOK_URL}"}
route:
  receiver: console
  routes:
    - receiver: slack
      continue: true
"""


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("datasets.yaml", "sources.yaml", "database.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/right")
    monkeypatch.delenv("SLACK_WEBHOK_URL", raising=False)
    return tmp_path


def test_a_misspelt_secret_of_a_routed_receiver_is_a_warning_with_its_line(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(rules)]) == 0

    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{rules}/notify.yaml:9:17: warning: receiver slack is reached by a route but cannot "
        "send: SLACK_WEBHOK_URL is not set"
    ]


def test_strict_makes_it_an_error_and_exits_1(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--strict", str(rules)]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{rules}/notify.yaml:9:17: error: receiver slack is reached")
    assert err[-1] == "1 receiver(s) cannot send (--strict)"


def test_strict_passes_once_the_secret_is_set(
    rules: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOK_URL", "https://hooks.slack.com/services/T0/B0/x")

    assert main(["check", "--strict", str(rules)]) == 0
    assert capsys.readouterr().err == ""


def test_a_receiver_no_route_names_is_only_listed_as_skipped(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (rules / "notify.yaml").write_text(NOTIFY.split("  routes:")[0])

    assert main(["check", "--strict", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "skipped: slack: SLACK_WEBHOK_URL is not set" in out
