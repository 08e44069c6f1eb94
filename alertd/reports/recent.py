"""The reports built lately, by id, for the status page and the chart links in messages."""

from __future__ import annotations

from collections import OrderedDict

from alertd.reports.figures import Report

# A chart linked from a message must stay fetchable for a while; a week of daily and
# weekly reports is eight.
KEEP = 16


def report_id(report: Report) -> str:
    """`daily-20261128T0800Z`: the kind and the end of its period, safe in a URL path."""
    return f"{report.kind.value}-{report.end.strftime('%Y%m%dT%H%MZ')}"


class RecentReports:
    """The newest KEEP reports, in memory (a restart forgets them; the next one comes)."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._reports: OrderedDict[str, Report] = OrderedDict()

    def add(self, report: Report) -> str:
        key = report_id(report)
        self._reports[key] = report
        self._reports.move_to_end(key)
        while len(self._reports) > self._keep:
            self._reports.popitem(last=False)
        return key

    def get(self, key: str) -> Report | None:
        return self._reports.get(key)

    def latest(self) -> Report | None:
        return next(reversed(self._reports.values()), None)
