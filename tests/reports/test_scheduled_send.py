"""A scheduled report end to end on a fake clock: built from the emulator at its cron time,
posted to a Slack bot with a link to its chart, and shown on the status page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from alertd.clock import FakeClock
from alertd.emulator.server import RunningEmulator
from alertd.notify.receivers import SlackBotReceiver
from alertd.notify.report_schedules import ReportSchedule, ReportScheduleSpec
from alertd.reports.schedule import run_reports
from alertd.reports.send import ReportSender
from alertd.rules.loader import load
from alertd.server.report_page import report_routes
from alertd.sources.analytics_engine import AnalyticsEngineSource
from tests.notify import fakes
from tests.notify.fakes import FakeServices
from tests.reports.known_day import AT, known_alerts, write_known_day

pytestmark = pytest.mark.anyio
CHART = "/reports/daily-20261128T0800Z.png"


@pytest.fixture(scope="module")
def known_day(ae: RunningEmulator) -> Iterator[None]:
    write_known_day(ae)
    yield
    ae.reset()


async def test_scheduled_report_is_posted_at_its_cron_time_and_shown_on_the_status_page(
    ae: RunningEmulator, known_day: None, fake: FakeServices, client: httpx.AsyncClient
) -> None:
    clock = FakeClock(AT - dt.timedelta(hours=5))
    source = AnalyticsEngineSource(
        ae.base_url, ae.account_id, SecretStr(ae.token), sleep=clock.sleep, retries=1
    )
    bot = SlackBotReceiver(
        "team",
        SecretStr(fakes.SLACK_BOT_TOKEN),
        "#alerts",
        client=client,
        api_url=f"{fake.base_url}/slack/api",
    )
    datasets = load([Path(__file__).parents[2] / "rules"]).ruleset.datasets
    sender = ReportSender(
        source,
        lambda: datasets,
        await known_alerts(),
        lambda: {"team": bot},
        public_url="https://status.example/",
    )
    spec = ReportScheduleSpec(
        kind="daily", cron="0 9 * * *", timezone="Europe/Berlin", receiver="team"
    )
    sent_at: list[dt.datetime] = []
    with anyio.CancelScope() as scope:

        async def send(schedule: ReportSchedule, due: dt.datetime) -> None:
            await sender(schedule, due)
            sent_at.append(clock.now())
            scope.cancel()

        await run_reports(lambda: [spec.build()], clock, send)
    await source.aclose()

    assert sent_at == [AT]  # 09:00 in Berlin is 08:00 UTC in November
    (message,) = fake.slack_api.messages.values()
    assert message["blocks"][0]["text"]["text"] == (
        "Daily performance report, 2026-11-27 08:00 to 2026-11-28 08:00 UTC"
    )
    assert (
        "P95 query time: 300 ms (-70 % on the previous period)"
        in message["blocks"][1]["text"]["text"]
    )
    assert message["blocks"][-1]["image_url"] == f"https://status.example{CHART}"

    app = Starlette(routes=report_routes(lambda: sender.recent, clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s"
    ) as http:
        page = await http.get("/reports")
        chart = await http.get(CHART)
        missing = await http.get("/reports/daily-20200101T0000Z.png")
    assert page.status_code == 200
    assert "Slow table pitches: P95 300 ms over 5 queries" in page.text
    assert f'src="{CHART}"' in page.text
    assert chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert missing.status_code == 404


async def test_status_page_says_when_no_report_was_built_yet() -> None:
    from alertd.reports.recent import RecentReports

    recent = RecentReports()
    app = Starlette(routes=report_routes(lambda: recent, FakeClock(AT)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s"
    ) as http:
        page = await http.get("/reports")
    assert page.status_code == 200
    assert "No report has been built since alertd started" in page.text
