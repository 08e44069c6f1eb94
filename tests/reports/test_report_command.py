"""`alertd report`: one report printed as JSON, or sent to a Teams and a Slack receiver."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.emulator.server import RunningEmulator
from tests.notify.fakes import FakeServices
from tests.reports.known_day import AT, write_known_day

RULES = Path(__file__).parents[2] / "rules"


@pytest.fixture(scope="module")
def known_day(ae: RunningEmulator) -> Iterator[None]:
    write_known_day(ae)
    yield
    ae.reset()


@pytest.fixture
def env(
    ae: RunningEmulator, known_day: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The emulator's credentials, a state folder of the test's own, and a rules folder."""
    monkeypatch.setenv("CLOUDFLARE_API_BASE", ae.base_url)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ae.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", ae.token)
    monkeypatch.setenv("ALERTD_STATE_DIR", str(tmp_path / "state"))
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(RULES / "datasets.yaml", rules)
    return rules


def test_report_prints_the_daily_report_as_json(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "daily", "--at", AT.isoformat(), "--rules", str(env), "--json"])
    assert code == 0, capsys.readouterr().err
    body = json.loads(capsys.readouterr().out)
    assert body["end"] == "2026-11-28T08:00:00Z"
    assert body["api"]["p95_ms"] == {"current": 900, "previous": 300, "change": 2.0}
    assert body["alerts"] == {"fired": 0, "resolved": 0, "mean_resolve_s": None, "by_rule": []}


def test_report_sends_a_card_to_teams_and_blocks_to_slack(
    env: Path, fake: FakeServices, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "notify.yaml").write_text(
        f"""\
receivers:
  - name: teams-team
    teams: {{webhook_url: "{fake.base_url}/teams/workflows/abc?sig=SIGsecret"}}
  - name: slack-team
    slack: {{webhook_url: "{fake.base_url}/slack/hooks/T0/B0/HOOKsecret"}}
  - name: pager
    pagerduty: {{routing_key: "0123456789abcdef0123456789abcdef"}}
route: {{receiver: teams-team}}
"""
    )
    args = ["--at", AT.isoformat(), "--rules", str(env)]
    assert main(["report", "weekly", "--send", "teams-team", *args]) == 0
    (request,) = fake.teams.requests
    card = request.json()["attachments"][0]["content"]
    assert card["body"][0]["inlines"][0]["text"].startswith("Weekly trend analysis, 2026-11-21")
    assert main(["report", "daily", "--send", "slack-team", *args]) == 0
    (request,) = fake.slack_webhook.requests
    post = request.json()
    assert post["blocks"][0]["text"]["text"].startswith("Daily performance report")
    assert (
        "*API*\nRequests: 40 (+300 % on the previous period)" in post["blocks"][2]["text"]["text"]
    )
    assert main(["report", "daily", "--send", "pager", *args]) == 1
    assert "cannot show a report" in capsys.readouterr().err
