"""Scheduled reports fire at their cron times in the receiver's zone, on a fake clock."""

from __future__ import annotations

import datetime as dt
import re

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.notify.report_schedules import ReportSchedule, ReportScheduleSpec
from alertd.reports.schedule import run_reports

pytestmark = pytest.mark.anyio
UTC = dt.UTC


def schedule(cron: str, timezone: str = "Europe/Berlin", kind: str = "daily") -> ReportSchedule:
    spec = ReportScheduleSpec(kind=kind, cron=cron, timezone=timezone, receiver="slack-team")
    return spec.build()


async def fired(
    schedules: list[ReportSchedule], start: dt.datetime, count: int
) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """The first `count` firings: (kind, due time, the clock's time when sent)."""
    clock = FakeClock(start)
    sent: list[tuple[str, dt.datetime, dt.datetime]] = []
    with anyio.CancelScope() as scope:

        async def send(s: ReportSchedule, due: dt.datetime) -> None:
            sent.append((s.kind, due, clock.now()))
            if len(sent) == count:
                scope.cancel()

        await run_reports(lambda: schedules, clock, send, recheck=dt.timedelta(hours=1))
    return sent


async def test_daily_report_fires_at_eight_in_berlin_across_the_summer_time_change() -> None:
    sent = await fired([schedule("0 8 * * *")], dt.datetime(2026, 3, 27, 12, tzinfo=UTC), 3)
    assert [due for _, due, _ in sent] == [
        dt.datetime(2026, 3, 28, 7, tzinfo=UTC),  # 08:00 CET
        dt.datetime(2026, 3, 29, 6, tzinfo=UTC),  # 08:00 CEST: clocks went forward that night
        dt.datetime(2026, 3, 30, 6, tzinfo=UTC),
    ]
    assert all(at == due for _, due, at in sent)


async def test_daily_and_weekly_reports_interleave_in_time_order() -> None:
    daily = schedule("0 8 * * *", "UTC")
    weekly = schedule("30 7 * * mon", "UTC", kind="weekly")
    # Friday 27 November 2026, noon.
    sent = await fired([daily, weekly], dt.datetime(2026, 11, 27, 12, tzinfo=UTC), 5)
    assert [(kind, due) for kind, due, _ in sent] == [
        ("daily", dt.datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("daily", dt.datetime(2026, 11, 29, 8, tzinfo=UTC)),
        ("weekly", dt.datetime(2026, 11, 30, 7, 30, tzinfo=UTC)),
        ("daily", dt.datetime(2026, 11, 30, 8, tzinfo=UTC)),
        ("daily", dt.datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ]


async def test_a_report_due_at_the_start_instant_is_not_sent_twice_after_a_restart() -> None:
    sent = await fired([schedule("0 8 * * *", "UTC")], dt.datetime(2026, 11, 28, 8, tzinfo=UTC), 1)
    assert sent[0][1] == dt.datetime(2026, 11, 29, 8, tzinfo=UTC)


async def test_a_schedule_added_by_a_reload_fires_without_a_restart() -> None:
    schedules = [schedule("0 8 * * *", "UTC")]
    clock = FakeClock(dt.datetime(2026, 11, 28, 7, tzinfo=UTC))
    sent: list[tuple[str, dt.datetime]] = []
    with anyio.CancelScope() as scope:

        async def send(s: ReportSchedule, due: dt.datetime) -> None:
            sent.append((s.kind, due))
            if len(sent) == 1:  # as a reload would: the daily one goes, a weekly one comes
                schedules[:] = [schedule("15 8 * * sat", "UTC", kind="weekly")]
            else:
                scope.cancel()

        await run_reports(lambda: schedules, clock, send)
    assert sent == [
        ("daily", dt.datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("weekly", dt.datetime(2026, 11, 28, 8, 15, tzinfo=UTC)),
    ]


def test_next_after_is_strictly_after() -> None:
    s = schedule("0 8 * * *", "UTC")
    eight = dt.datetime(2026, 11, 28, 8, tzinfo=UTC)
    assert s.next_after(eight - dt.timedelta(seconds=1)) == eight
    assert s.next_after(eight) == eight + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cron", "0 25 * * *", "cron '0 25 * * *'"),
        ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("kind", "hourly", "'daily' or 'weekly'"),
    ],
)
def test_bad_schedule_settings_are_refused_naming_the_field(
    field: str, value: str, message: str
) -> None:
    fields = {"kind": "daily", "cron": "0 8 * * *", "timezone": "UTC", "receiver": "r"}
    with pytest.raises(ValueError, match=re.escape(message)):
        ReportScheduleSpec(**{**fields, field: value})
