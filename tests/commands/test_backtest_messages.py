"""Backtests of the demo's incidents, delivered to local fakes of every service (which
check each payload against its schema and limits): no FIRING message contradicts its
values without saying why, every resolve quotes the value at resolution, ratios show in
percent, and every receiver links the alert's page and the runbook."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from alertd.cli import main
from alertd.model import Severity
from alertd.query.check import check_rules
from tests.commands.test_backtest import ORIGIN, RULES, demo_data
from tests.notify.fakes import FakeServices

__all__ = ["demo_data"]  # the fixture writing the demo's traffic into the emulator

EXTERNAL = "https://alertd.pitchey.example"
RUNBOOK = "https://runbooks.pitchey.example/database/slow-queries"
# Every receiver gets every alert; short intervals send the updates and reminders in which
# a recovering value could contradict the page.
NOTIFY = """\
receivers:
  - name: console
    console: {}
  - name: slack
    slack: {webhook_url: "${SLACK_WEBHOOK_URL}"}
  - name: teams
    teams: {webhook_url: "${TEAMS_WEBHOOK_URL}"}
  - name: pagerduty
    pagerduty: {routing_key: "${PAGERDUTY_ROUTING_KEY}", url: "${PAGERDUTY_EVENTS_URL}"}
  - name: webhook
    webhook: {url: "${ALERT_WEBHOOK_URL}"}
route:
  receiver: console
  group_by: [alertname, team]
  group_wait: 30s
  group_interval: 30s
  repeat_interval: 1m
  routes:
    - {receiver: slack, continue: true}
    - {receiver: teams, continue: true}
    - {receiver: pagerduty, continue: true}
    - {receiver: webhook, continue: true}
"""


@pytest.fixture
def sent(
    demo_data: None,
    fake: FakeServices,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> FakeServices:
    for rules in RULES.glob("*.yaml"):
        if rules.name != "notify.yaml":
            shutil.copy(rules, tmp_path / rules.name)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    base = fake.base_url
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"{base}/slack/hooks/services/T0/B0/slackHOOKtoken0001")
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", f"{base}/teams/workflows/abc/triggers/invoke?sig=x")
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", "R0UT1NGKEY0123456789abcdefghijkl")
    monkeypatch.setenv("PAGERDUTY_EVENTS_URL", f"{base}/pagerduty/v2/enqueue")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"{base}/webhook/alertd")
    monkeypatch.setenv("ALERTD_EXTERNAL_URL", EXTERNAL)
    end = ORIGIN + dt.timedelta(minutes=30)
    code = main(
        [
            "backtest", "--from", ORIGIN.isoformat(), "--to", end.isoformat(),
            "--rules", str(tmp_path), "--notifications", "--deliver",
        ]
    )  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert fake.problems() == []  # every payload valid for its service
    return fake


def bodies(service: Any) -> list[Any]:
    return [json.loads(r.body) for r in service.requests]


def test_no_firing_alert_contradicts_its_value_without_saying_why(sent: FakeServices) -> None:
    rules = {r.name: r for r in check_rules([RULES]).ruleset.rules}
    explained = 0
    for event in bodies(sent.pagerduty):
        if event["event_action"] != "trigger":
            continue
        for alert in event["payload"]["custom_details"]["alerts"]:
            if alert["status"] != "firing" or alert["value"] is None:
                continue
            threshold = rules[alert["rule"]].thresholds[Severity(alert["severity"])]
            if not threshold.holds(alert["value"]):
                assert alert["note"], alert  # e.g. "recovering: 130.57 ms, resolves below 130 ms"
                explained += 1
    assert explained > 0  # the demo's recoveries are held by recover and keep_firing_for


def test_every_resolve_quotes_the_value_at_resolution_and_the_last_firing_value(
    sent: FakeServices,
) -> None:
    resolves = [b["text"] for b in bodies(sent.slack_webhook) if b["text"].startswith("[RESOLVED]")]
    assert len(resolves) == 7  # each rule that fired
    for text in resolves:
        line = text.splitlines()[1]
        assert "resolved (was " in line
        assert " at resolution · " in line or "no data at resolution" in line
        assert "last firing " in line


def test_ratios_are_shown_in_percent(sent: FakeServices) -> None:
    lines = [line for b in bodies(sent.slack_webhook) for line in b["text"].splitlines()]
    rates = [line for line in lines if "ErrorRate" in line or "CacheHitRate" in line]
    assert rates
    assert all(" %" in line for line in rates if line.startswith("•"))


def test_every_receiver_links_the_alert_page_and_the_runbook(sent: FakeServices) -> None:
    def page_links(urls: list[str]) -> bool:
        return any(u.startswith(f"{EXTERNAL}/alerts/") for u in urls)

    for body in bodies(sent.slack_webhook):
        buttons = [
            e["url"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]
        ]
        assert page_links(buttons)
        assert ("SlowQueryP95" in body["text"]) == (RUNBOOK in buttons)
    for body in bodies(sent.teams):
        card = body["attachments"][0]["content"]
        urls = [a["url"] for a in card["actions"] if a["type"] == "Action.OpenUrl"]
        assert page_links(urls)
        title = card["body"][0]["items"][0]["inlines"][0]["text"]
        assert ("SlowQueryP95" in title) == (RUNBOOK in urls)
    for event in bodies(sent.pagerduty):
        if event["event_action"] == "trigger":
            hrefs = [link["href"] for link in event["links"]]
            assert page_links(hrefs)
            assert event["client_url"].startswith(f"{EXTERNAL}/alerts/")
            assert ("SlowQueryP95" in event["payload"]["summary"]) == (RUNBOOK in hrefs)
    for body in bodies(sent.webhook):
        assert body["externalURL"] == EXTERNAL
        for alert in body["alerts"]:
            # The page is named by alertd's fingerprint; `fingerprint` is Alertmanager's.
            assert re.fullmatch(f"{EXTERNAL}/alerts/[0-9a-f]{{16}}", alert["generatorURL"])
            if alert["labels"]["alertname"] == "SlowQueryP95":
                assert alert["annotations"]["runbook_url"] == RUNBOOK


def test_every_message_of_a_rule_with_confidence_states_its_evidence_and_no_other_does(
    sent: FakeServices,
) -> None:
    weighed = {r.name for r in check_rules([RULES]).ruleset.rules if r.confidence is not None}
    seen = 0
    for event in bodies(sent.pagerduty):
        if event["event_action"] != "trigger":
            continue
        for alert in event["payload"]["custom_details"]["alerts"]:
            if alert["rule"] in weighed:
                assert "sampled rows" in alert["evidence"], alert
                seen += 1
            else:
                assert "evidence" not in alert, alert
    for body in bodies(sent.webhook):
        for alert in body["alerts"]:
            rule = alert["labels"]["alertname"]
            assert ("evidence" in alert["annotations"]) == (rule in weighed), alert
    assert seen > 0  # the demo's incidents page rules that weigh their rows
