"""Receivers' own templates: rendered over Alertmanager's data model into payloads the local
services accept, checked at load with the receiver, key and line, and kept in the sandbox."""

from __future__ import annotations

import io
import shutil
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from alertd.cli import main
from alertd.notify.build import build_receivers
from alertd.notify.config import load_notify
from alertd.notify.receivers.base import Receiver
from alertd.notify.receivers.render import title
from alertd.notify.receivers.slack import (
    NO_UNFURL,
    SlackBotReceiver,
    SlackWebhookReceiver,
    message,
)
from alertd.notify.receivers.templates import Wording
from tests.notify import fakes
from tests.notify.fakes import FakeServices, alert, notification

RULES = Path(__file__).parents[2] / "rules"

NOTIFY = """\
receivers:
  - name: slack
    slack:
      webhook_url: "${BASE}/slack/hooks/services/T0/B0/slackHOOKtokenSECRET0001"
      title: "{{ status | upper }}: {{ common_labels.alertname }} on {{ group_labels.table }}"
      text: |
        {% for a in alerts %}*{{ a.labels.severity }}* {{ a.labels.table }}:
        {{- " " }}{{ a.value | humanize }}
        {{- " " }}<{{ a.generator_url }}|page>
        {% endfor %}
  - name: teams
    teams:
      webhook_url: "${BASE}/teams/workflows/run?sig=teamsSIGsecret0123456789"
      title: "{{ alerts | length }} alert for {{ receiver }}"
      text: |
        {% for a in alerts %}{{ a.labels.alertname }} is {{ a.value_text }} ({{ a.threshold }})
        since {{ a.starts_at }}, fingerprint {{ a.fingerprint }}
        {% endfor %}
  - name: pagerduty
    pagerduty:
      routing_key: "pdROUTINGkeySECRET00000000000001"
      url: "${BASE}/pagerduty/v2/enqueue"
      summary: >-
        {{ common_labels.alertname }} at {{ alerts[0].value | round(1) }} ms:
        {{ common_annotations.summary }}
      source: "{{ external_url }}"
route:
  receiver: slack
"""


async def built(fake: FakeServices, tmp_path: Path) -> dict[str, Receiver]:
    path = tmp_path / "notify.yaml"
    path.write_text(NOTIFY)
    config, errors = load_notify(path, env={"BASE": fake.base_url})
    assert errors == []
    assert config is not None
    receivers, _ = build_receivers(config, httpx.AsyncClient(), io.StringIO())
    return receivers


async def deliver(receiver: Receiver, n: Any) -> None:
    await receiver.send(receiver.render(n))


HOSTILE = (("table", "<!channel> & <https://evil.test|users>"),)


@pytest.mark.anyio
async def test_slack_title_and_text_come_from_the_templates_with_data_escaped(
    fake: FakeServices, tmp_path: Path
) -> None:
    receivers = await built(fake, tmp_path)

    await deliver(receivers["slack"], notification(alert(labels=HOSTILE)))

    (request,) = fake.slack_webhook.requests
    body = request.json()
    header, section = body["blocks"][0], body["blocks"][1]
    assert header["text"]["text"] == (
        "FIRING: SlowQueryP95 on users"  # group_labels of the sample notification
    )
    assert section["text"]["text"] == (
        "*critical* &lt;!channel&gt; &amp; &lt;https://evil.test|users&gt;: 212.3 "
        "<https://alertd.example/alerts/5f2c1d9e8a7b6c4d|page>"
    )
    assert body["text"].startswith("FIRING: SlowQueryP95 on users\n*critical* &lt;!channel&gt;")


@pytest.mark.anyio
async def test_the_slack_bot_posts_and_updates_its_message_in_the_templates_words(
    fake: FakeServices,
) -> None:
    wording = Wording("{{ status }}: {{ rules | join(', ') }}", "{{ alerts | length }} alert(s)")
    bot = SlackBotReceiver(
        "ops",
        SecretStr(fakes.SLACK_BOT_TOKEN),
        "#alerts",
        client=httpx.AsyncClient(),
        api_url=f"{fake.base_url}/slack/api",
        wording=wording,
    )
    n = notification(alert())

    posted = await bot.send(bot.render(n))
    await bot.send(bot.render(fakes.resolved(n), previous_ref=posted.ref))

    (message_,) = [m for m in fake.slack_api.messages.values() if "blocks" in m]
    assert message_["blocks"][0]["text"]["text"] == "resolved: SlowQueryP95"
    assert message_["blocks"][1]["text"]["text"] == "1 alert(s)"


@pytest.mark.anyio
async def test_a_templated_title_of_a_test_notification_still_says_test(
    fake: FakeServices, tmp_path: Path
) -> None:
    receivers = await built(fake, tmp_path)
    n = notification(alert(), test=True)

    slack = receivers["slack"].render(n).json()
    pagerduty = receivers["pagerduty"].render(n).json()

    assert slack["blocks"][0]["text"]["text"] == "[TEST] FIRING: SlowQueryP95 on users"
    assert pagerduty["payload"]["summary"].startswith("[TEST] SlowQueryP95 at 212.3 ms")


@pytest.mark.anyio
async def test_teams_title_and_text_come_from_the_templates_in_a_valid_card(
    fake: FakeServices, tmp_path: Path
) -> None:
    receivers = await built(fake, tmp_path)

    await deliver(receivers["teams"], notification(alert()))

    (request,) = fake.teams.requests
    card = request.json()["attachments"][0]["content"]
    texts = [b["inlines"][0]["text"] for b in card["body"] if b["type"] == "RichTextBlock"]
    heading = card["body"][0]["items"][0]["inlines"][0]["text"]
    assert heading == "1 alert for ops"
    assert texts[:2] == [
        "SlowQueryP95 is 212.35 (> 200)",
        "since 2025-03-01T11:55:00Z, fingerprint 5f2c1d9e8a7b6c4d",
    ]


@pytest.mark.anyio
async def test_pagerduty_summary_and_source_come_from_the_templates(
    fake: FakeServices, tmp_path: Path
) -> None:
    receivers = await built(fake, tmp_path)

    await deliver(receivers["pagerduty"], notification(alert()))

    (request,) = fake.pagerduty.requests
    payload = request.json()["payload"]
    assert payload["summary"] == "SlowQueryP95 at 212.3 ms: P95 query time on users is 212 ms"
    assert payload["source"] == "https://alertd.example"


@pytest.mark.anyio
async def test_a_template_failing_on_real_values_falls_back_to_the_default_and_is_logged(
    fake: FakeServices, tmp_path: Path
) -> None:
    receivers = await built(fake, tmp_path)
    no_data = notification(alert(value=None))

    with capture_logs() as logs:
        await deliver(receivers["pagerduty"], no_data)

    payload = fake.pagerduty.requests[0].json()["payload"]
    assert payload["summary"].startswith(title(no_data))
    failed = [e for e in logs if e["event"] == "receiver.template_failed"]
    assert [e["setting"] for e in failed] == ["pagerduty.summary"]


def check_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: str) -> list[str]:
    shutil.copy(RULES / "datasets.yaml", tmp_path / "datasets.yaml")
    head = "receivers:\n  - name: team-slack\n    slack:\n      webhook_url: https://h.test/x\n"
    indented = textwrap.indent(textwrap.dedent(settings), "      ")
    (tmp_path / "notify.yaml").write_text(f"{head}{indented}route:\n  receiver: team-slack\n")
    assert main(["check", str(tmp_path)]) == 1
    return capsys.readouterr().err.splitlines()[:-1]


def test_a_syntax_error_is_placed_at_its_line_inside_a_block_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = check_errors(
        tmp_path,
        capsys,
        """\
        text: |
          {{ status }}
          {% for a in alerts %}{{ a.labels.table }}
        """,
    )

    assert errors == [
        f"{tmp_path}/notify.yaml:7:9: receivers[0].slack.text: receiver 'team-slack': "
        "template: Unexpected end of template. Jinja was looking for the following tags: "
        "'endfor' or 'else'. The innermost block that needs to be closed is 'for'."
    ]


@pytest.mark.parametrize(
    ("template", "line", "reason"),
    [
        (
            "{{ status }}\n{{ alerts[0].startz }}",
            7,
            "template: 'dict object' has no attribute 'startz' (on a sample notification)",
        ),
        ("{{ status | shout }}", 6, "template: No filter named 'shout'."),
        (
            "{{ status }}\n{{ labels.team }}",
            7,
            "template: unknown variable labels (known: alerts, common_annotations, "
            "common_labels, external_url, firing, group_labels, receiver, rules, severity, "
            "status)",
        ),
        (
            "{{ $labels.team }}",
            6,
            "template: $labels.team is Prometheus syntax: write labels.team (no $)",
        ),
    ],
)
def test_unknown_fields_filters_and_variables_are_errors_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, line: int, reason: str
) -> None:
    block = textwrap.indent(template, "  ")
    errors = check_errors(tmp_path, capsys, f"title: |\n{block}\n")

    assert errors == [
        f"{tmp_path}/notify.yaml:{line}:9: receivers[0].slack.title: receiver 'team-slack': "
        + reason
    ]


def test_a_sandbox_escape_is_refused_at_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = check_errors(
        tmp_path, capsys, "title: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
    )

    assert errors == [
        f"{tmp_path}/notify.yaml:5:15: receivers[0].slack.title: receiver 'team-slack': "
        "template: refused by the sandbox: access to attribute '__class__' of 'str' object "
        "is unsafe."
    ]


def test_a_template_too_costly_to_render_is_refused_at_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loops = "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}"
    errors = check_errors(tmp_path, capsys, f'text: "{loops}"\n')

    assert errors == [
        f"{tmp_path}/notify.yaml:5:14: receivers[0].slack.text: receiver 'team-slack': "
        "template: too costly to render: more than 200000 steps"
    ]


def test_the_default_layout_stays_when_no_template_is_given() -> None:
    n = notification(alert())
    receiver = SlackWebhookReceiver(
        "ops", SecretStr("https://h.test/x"), client=httpx.AsyncClient()
    )

    assert receiver.render(n).json() == {**message(n), **NO_UNFURL}
    assert message(n)["blocks"][0]["text"]["text"] == title(n)


def test_the_readme_example_of_each_receiver_passes_the_check(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Templates.**", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "notify.yaml"
    path.write_text(example + "route:\n  receiver: slack\n")
    env = {
        "SLACK_WEBHOOK_URL": "https://hooks.slack.test/services/T0/B0/x",
        "TEAMS_WEBHOOK_URL": "https://teams.test/run?sig=x",
        "PAGERDUTY_ROUTING_KEY": "k" * 32,
    }

    config, errors = load_notify(path, env=env)

    assert errors == []
    assert config is not None
    assert sorted(config.receivers) == ["pagerduty", "slack", "teams"]
