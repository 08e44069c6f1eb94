"""Sends each scheduled report when its cron expression fires, on an injected clock.

The schedules are read again at every wake, so a reload that adds, changes or removes a
report takes effect within `RECHECK` without restarting the loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

from alertd.clock import Clock
from alertd.notify.report_schedules import ReportSchedule

# The longest the loop sleeps before reading the schedules again.
RECHECK = dt.timedelta(minutes=1)

Send = Callable[[ReportSchedule, dt.datetime], Awaitable[None]]


async def run_reports(
    schedules: Callable[[], Sequence[ReportSchedule]],
    clock: Clock,
    send: Send,
    *,
    recheck: dt.timedelta = RECHECK,
) -> None:
    """Until cancelled: each report due since the last wake is sent once, for the time it
    was due (a report missed while the process was stopped is not sent late)."""
    checked = clock.now()
    while True:
        now = clock.now()
        upcoming: list[dt.datetime] = []
        for schedule, due in due_times(schedules(), checked):
            if due > now:
                upcoming.append(due)
                continue
            await send(schedule, due)
            if (following := schedule.next_after(now)) is not None:
                upcoming.append(following)
        checked = now
        await clock.sleep_until(min([*upcoming, now + recheck]))


def due_times(
    schedules: Sequence[ReportSchedule], after: dt.datetime
) -> list[tuple[ReportSchedule, dt.datetime]]:
    """Each schedule's first firing after `after`, earliest first (never-firing ones left out)."""
    found = [(s, due) for s in schedules if (due := s.next_after(after)) is not None]
    return sorted(found, key=lambda pair: pair[1])
