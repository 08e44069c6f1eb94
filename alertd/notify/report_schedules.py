"""When performance reports are sent: `reports:` in the notification file.

Each entry is a cron expression read in the receiver's time zone (apscheduler's cron
trigger, so `0 8 * * *` in Europe/Berlin is 08:00 Berlin time in winter and in summer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator

from alertd.notify.receivers.fields import Strict
from alertd.notify.time_intervals import parse_location

# Receivers that can show a report: the others take alerts only.
REPORT_KINDS = frozenset({"slack", "teams", "console"})
ONE_SECOND = dt.timedelta(seconds=1)


def _cron(text: str) -> str:
    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ValueError(f"cron {text!r}: {exc}") from None
    return text


def _zone(name: str) -> str:
    parse_location(name)
    return name


class ReportScheduleSpec(Strict):
    """One entry of `reports:` as written."""

    kind: Literal["daily", "weekly"]
    cron: Annotated[str, AfterValidator(_cron)]
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"
    receiver: str

    def build(self) -> ReportSchedule:
        trigger = CronTrigger.from_crontab(self.cron, timezone=parse_location(self.timezone))
        return ReportSchedule(self.kind, self.cron, self.timezone, self.receiver, trigger)


@dataclass(frozen=True)
class ReportSchedule:
    """A report of `kind` sent to `receiver` whenever `cron` fires in `timezone`."""

    kind: str
    cron: str
    timezone: str
    receiver: str
    trigger: CronTrigger

    def next_after(self, at: dt.datetime) -> dt.datetime | None:
        """The first firing strictly after `at`, in UTC; None if the expression never fires."""
        fire = self.trigger.get_next_fire_time(None, at)
        if fire is not None and fire <= at:
            fire = self.trigger.get_next_fire_time(None, at + ONE_SECOND)
        return None if fire is None else fire.astimezone(dt.UTC)
