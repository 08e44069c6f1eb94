"""A report's digest as Slack blocks and a Teams card, checked by the local fakes."""

from __future__ import annotations

import datetime as dt
import io
import json

import httpx
import pytest
from pydantic import SecretStr

from alertd.notify.receivers import SlackBotReceiver, SlackWebhookReceiver, TeamsReceiver
from alertd.notify.receivers.console import ConsoleReceiver
from alertd.notify.receivers.digest import Digest
from alertd.reports.digest import as_digest
from alertd.reports.figures import (
    AlertFigures,
    ApiFigures,
    Compared,
    DatabaseFigures,
    ErrorFigures,
    Kind,
    QuerySpend,
    Ranked,
    Report,
    RuleAlerts,
)
from alertd.reports.send import deliver
from tests.notify import fakes
from tests.notify.fakes import FakeServices

pytestmark = pytest.mark.anyio
AT = dt.datetime(2026, 11, 30, 7, tzinfo=dt.UTC)
HOSTILE = "<!channel> <https://evil.example|click>"


def report(endpoints: int = 5) -> Report:
    """A weekly report whose names came from data, one of them hostile."""
    return Report(
        kind=Kind.WEEKLY,
        start=AT - dt.timedelta(days=7),
        end=AT,
        database=DatabaseFigures(
            Compared(1200, 1000),
            Compared(180, 150),
            Compared(0.004, None),
            (Ranked("users", 210, 800), Ranked(HOSTILE, 150, 400)),
        ),
        api=ApiFigures(
            Compared(50_000, 40_000),
            Compared(420, 480),
            Compared(0.01, 0.02),
            Compared(0.8, 0.75),
            tuple(Ranked(f"/api/e{i}", 400 - i, 100) for i in range(endpoints)),
        ),
        errors=ErrorFigures(Compared(30, 10), (Ranked("api_error", 0.6, 18),)),
        alerts=AlertFigures(2, 1, 600, (RuleAlerts("SlowQueryP95", 2, 1, 600, 600),)),
        ae_queries=QuerySpend(12, 86_400),
    )


def digest() -> Digest:
    return as_digest(report(), image_url="https://status.example/reports/latest.png")


async def test_slack_bot_posts_the_digest_as_valid_blocks_with_data_made_inert(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    bot = SlackBotReceiver(
        "team",
        SecretStr(fakes.SLACK_BOT_TOKEN),
        "#alerts",
        client=client,
        api_url=f"{fake.base_url}/slack/api",
    )
    delivered = await bot.send(bot.render_digest(digest()))
    assert delivered.ref is not None
    (message,) = fake.slack_api.messages.values()
    blocks = message["blocks"]
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "section",
        "section",
        "section",
        "image",
    ]
    assert (
        blocks[0]["text"]["text"]
        == "Weekly trend analysis, 2026-11-23 07:00 to 2026-11-30 07:00 UTC"
    )
    database = blocks[1]["text"]["text"]
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt;" in database
    assert "<!" not in str(message)
    assert blocks[-1]["image_url"] == "https://status.example/reports/latest.png"
    assert "This report: 12, this month so far: 86,400" in blocks[5]["text"]["text"]


async def test_slack_webhook_takes_the_same_digest(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    hook = SlackWebhookReceiver(
        "team", SecretStr(f"{fake.base_url}/slack/hooks/T0/B0/secret"), client=client
    )
    await hook.send(hook.render_digest(digest()))
    assert len(fake.slack_webhook.requests) == 1


async def test_teams_card_of_the_digest_meets_the_schema_and_size(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    teams = TeamsReceiver("team", SecretStr(f"{fake.base_url}/teams/flow?sig=s"), client=client)
    await teams.send(teams.render_digest(digest()))
    (request,) = fake.teams.requests
    card = request.json()["attachments"][0]["content"]
    assert card["body"][-1] == {
        "type": "Image",
        "url": "https://status.example/reports/latest.png",
        "altText": "P95 response time per endpoint, Weekly trend analysis, "
        "2026-11-23 07:00 to 2026-11-30 07:00 UTC",
    }
    runs = [i["text"] for c in card["body"][1:-1] for b in c["items"] for i in b["inlines"]]
    assert runs[:2] == ["Database", "Queries: 1,200 (+20 % on the previous period)"]
    assert f"Slow table {HOSTILE}: P95 150 ms over 400 queries" in runs


async def test_console_prints_the_digest_as_lines_with_data_escaped() -> None:
    out = io.StringIO()
    console = ConsoleReceiver("console", out)
    await console.send(console.render_digest(as_digest(report())))
    printed = out.getvalue().splitlines()
    assert printed[0] == (
        "[REPORT] Weekly trend analysis, 2026-11-23 07:00 to 2026-11-30 07:00 UTC to console"
    )
    assert printed[1:3] == ["  Database", "    Queries: 1,200 (+20 % on the previous period)"]


async def test_console_json_digest_is_one_object() -> None:
    out = io.StringIO()
    console = ConsoleReceiver("console", out, json_lines=True)
    await console.send(console.render_digest(as_digest(report())))
    body = json.loads(out.getvalue())
    assert (body["kind"], body["receiver"]) == ("digest", "console")
    assert body["sections"][4] == {
        "heading": "AE queries",
        "lines": ["This report: 12, this month so far: 86,400"],
    }


async def test_without_a_chart_url_a_slack_bot_uploads_the_chart_into_the_reports_thread(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    bot = SlackBotReceiver(
        "team",
        SecretStr(fakes.SLACK_BOT_TOKEN),
        "#alerts",
        client=client,
        api_url=f"{fake.base_url}/slack/api",
    )
    await deliver(bot, report(), None)
    (ts,) = fake.slack_api.messages
    assert fake.slack_api.messages[ts]["blocks"][-1]["type"] == "section"  # no image block
    (share,) = fake.slack_api.shared
    assert share["channel_id"] == fakes.SLACK_CHANNEL_ID
    assert share["thread_ts"] == ts
    (file_id,) = fake.slack_api.uploaded
    assert share["files"] == [{"id": file_id, "title": as_digest(report()).image_alt}]
    assert fake.slack_api.uploaded[file_id].startswith(b"\x89PNG")
    uploads = [r for r in fake.slack_api.requests if r.path.endswith("getUploadURLExternal")]
    assert uploads[0].body.decode().startswith("filename=weekly-20261130T0700Z.png&length=")


async def test_a_slack_webhook_cannot_upload_so_its_report_goes_without_a_chart(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    hook = SlackWebhookReceiver(
        "team", SecretStr(f"{fake.base_url}/slack/hooks/T0/B0/secret"), client=client
    )
    await deliver(hook, report(), None)
    assert len(fake.slack_webhook.requests) == 1
    assert fake.slack_api.requests == []
