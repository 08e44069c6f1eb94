"""Every receiver states what the sampled rows said, for a rule with `confidence`, and says
nothing of it for a rule without: each payload still passes its service's oracle."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import httpx
from pydantic import SecretStr

from alertd.model import AlertSnapshot, Notification
from alertd.notify.receivers import (
    PagerDutyReceiver,
    SlackWebhookReceiver,
    TeamsReceiver,
    WebhookReceiver,
)
from alertd.notify.receivers.alertmanager import postable_alerts
from alertd.notify.receivers.console import ConsoleReceiver
from alertd.notify.receivers.templates import data
from alertd.notify.receivers.webhook import document
from tests.notify import fakes
from tests.notify.fakes import alert, notification, resolved

EVIDENCE = "p95(duration) 212 ms > 200 ms: 61 of 480 sampled rows above 200 ms, 95 % confident"
QUIET = "p95(duration) 96 ms < 180 ms: 3 of 410 sampled rows above 180 ms, 95 % confident"
ROUTING_KEY = "pdROUTINGkeySECRET00000000000001"
SLACK_HOOK = "https://hooks.slack.com/services/T0/B0/slackHOOKtokenSECRET00000001"
TEAMS_URL = "https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"


def weighed(evidence: str = EVIDENCE, **changes: Any) -> AlertSnapshot:
    return replace(alert(**changes), evidence=evidence)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient()


def slack_lines(n: Notification) -> list[str]:
    receiver = SlackWebhookReceiver("ops", SecretStr(SLACK_HOOK), client=client())
    request = fakes.received(receiver.render(n))
    assert fakes.slack_webhook_problems(request) == []
    sections = [b for b in request.json()["blocks"] if b["type"] == "section"]
    return [line for b in sections for line in b["text"]["text"].split("\n")]


def teams_runs(n: Notification) -> list[str]:
    receiver = TeamsReceiver("ops", SecretStr(TEAMS_URL), client=client())
    request = fakes.received(receiver.render(n))
    assert fakes.teams_problems(request) == []
    return _texts(request.json(), "TextRun")


def pagerduty_details(n: Notification) -> dict[str, Any]:
    receiver = PagerDutyReceiver("ops", SecretStr(ROUTING_KEY), client=client())
    request = fakes.received(receiver.render(n))
    assert fakes.pagerduty_problems(request) == []
    details: dict[str, Any] = request.json()["payload"]["custom_details"]
    return details


def webhook_body(n: Notification) -> dict[str, Any]:
    receiver = WebhookReceiver("ops", SecretStr("https://hooks.example/alertd"), client=client())
    request = fakes.received(receiver.render(n))
    assert fakes.webhook_problems(request) == []
    body: dict[str, Any] = request.json()
    return body


def console_text(n: Notification) -> str:
    return ConsoleReceiver("console", io.StringIO()).render(n).body.decode()


def test_slack_shows_the_evidence_under_the_alerts_times() -> None:
    lines = slack_lines(notification(weighed()))

    at = lines.index(EVIDENCE.replace(">", "&gt;"))
    assert lines[at - 1].startswith("since ")
    assert lines[at + 1] == "P95 query time on users is 212 ms"


def test_teams_shows_the_evidence_as_its_own_text_run() -> None:
    runs = teams_runs(notification(weighed()))

    assert runs.index(EVIDENCE) == runs.index("P95 query time on users is 212 ms") - 1


def test_pagerduty_carries_the_evidence_in_custom_details() -> None:
    details = pagerduty_details(notification(weighed()))

    assert details["alerts"][0]["evidence"] == EVIDENCE


def test_webhook_carries_the_evidence_as_an_annotation_for_templates() -> None:
    body = webhook_body(notification(weighed()))

    assert body["alerts"][0]["annotations"]["evidence"] == EVIDENCE
    assert body["commonAnnotations"]["evidence"] == EVIDENCE


def test_alertmanager_and_receiver_templates_see_the_evidence_annotation() -> None:
    n = notification(weighed())

    assert postable_alerts(n)[0]["annotations"]["evidence"] == EVIDENCE
    assert data(n)["alerts"][0]["annotations"]["evidence"] == EVIDENCE


def test_a_rules_own_evidence_annotation_is_not_overwritten() -> None:
    own = {"summary": "slow", "evidence": "see the dashboard"}
    n = notification(weighed(annotations=own))

    assert document(n)["alerts"][0]["annotations"]["evidence"] == "see the dashboard"


def test_the_console_prints_the_evidence_on_a_line_of_its_own() -> None:
    n = notification(weighed())

    lines = console_text(n).splitlines()

    assert lines[2] == f"             evidence: {EVIDENCE}"
    assert len(lines) == 3


def test_a_resolve_states_the_rows_that_show_the_series_quiet() -> None:
    n = resolved(notification(alert()))
    n = replace(n, alerts=tuple(replace(a, evidence=QUIET) for a in n.alerts))

    assert QUIET.replace("<", "&lt;") in slack_lines(n)
    assert QUIET in teams_runs(n)
    assert webhook_body(n)["alerts"][0]["annotations"]["evidence"] == QUIET
    assert f"evidence: {QUIET}" in console_text(n)


def test_a_rule_without_confidence_shows_no_evidence_anywhere() -> None:
    n = notification(alert())

    assert not any("evidence" in line or not line for line in slack_lines(n))
    assert "" not in teams_runs(n)
    assert "evidence" not in pagerduty_details(n)["alerts"][0]
    assert "evidence" not in webhook_body(n)["alerts"][0]["annotations"]
    assert "evidence" not in postable_alerts(n)[0]["annotations"]
    assert "evidence" not in console_text(n)
    assert len(console_text(n).splitlines()) == 2


def _texts(node: Any, kind: str) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in _texts(item, kind)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == kind else []
    return found + [t for value in node.values() for t in _texts(value, kind)]


def test_the_console_json_line_carries_the_evidence() -> None:
    out = ConsoleReceiver("console", io.StringIO(), json_lines=True).render(notification(weighed()))

    assert json.loads(out.body)["alerts"][0]["evidence"] == EVIDENCE
