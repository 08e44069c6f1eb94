"""Builds a scheduled report and sends it through its receiver; keeps the latest one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import anyio
import structlog

from alertd.errors import AlertdError
from alertd.notify.receivers.digest import DigestReceiver, ImageUploader
from alertd.notify.report_schedules import ReportSchedule
from alertd.reports.build import build_report
from alertd.reports.chart import chart_png
from alertd.reports.digest import as_digest
from alertd.reports.figures import Kind, Report
from alertd.reports.recent import RecentReports, report_id
from alertd.rules.schema import Dataset
from alertd.sources.base import Source
from alertd.sources.stats import SourceStats
from alertd.store.base import AlertStates

log = structlog.get_logger(__name__)


class ReportSender:
    """Sends the report a schedule asks for and keeps it in `recent` for the status page.

    With `public_url` (where the status page is reached), the message shows the report's
    chart from `<public_url>/reports/<id>.png`. A failure is logged and the next firing
    tries again: a report is a summary, not a page, so it is not retried.
    """

    def __init__(
        self,
        source: Source,
        datasets: Callable[[], Mapping[str, Dataset]],
        history: AlertStates,
        receivers: Callable[[], Mapping[str, object]],
        *,
        stats: SourceStats | None = None,
        public_url: str | None = None,
    ) -> None:
        self._source = source
        self._datasets = datasets
        self._history = history
        self._receivers = receivers
        self._stats = stats
        self._public_url = public_url.rstrip("/") if public_url else None
        self.recent = RecentReports()

    async def __call__(self, schedule: ReportSchedule, at: dt.datetime) -> None:
        receiver = self._receivers().get(schedule.receiver)
        if not isinstance(receiver, DigestReceiver):
            log.warning("report.unsendable", receiver=schedule.receiver, kind=schedule.kind)
            return
        try:
            report = await build_report(
                self._source,
                self._datasets(),
                self._history,
                Kind(schedule.kind),
                at,
                spent_this_month=self._spent(at),
            )
            key = self.recent.add(report)
            image = f"{self._public_url}/reports/{key}.png" if self._public_url else None
            await deliver(receiver, report, image)
        except AlertdError as exc:
            log.warning(
                "report.failed", receiver=schedule.receiver, kind=schedule.kind, error=str(exc)
            )
            return
        log.info("report.sent", receiver=schedule.receiver, kind=schedule.kind, at=at.isoformat())

    def _spent(self, at: dt.datetime) -> int | None:
        if self._stats is None:
            return None
        return sum(self._stats.billed_this_month(name, at) for name in self._stats.datasets)


async def deliver(receiver: DigestReceiver, report: Report, image_url: str | None) -> None:
    """Send `report`. Without a public chart URL, a receiver that can upload (a Slack bot)
    gets the chart as a file in the message's thread."""
    digest = as_digest(report, image_url)
    delivered = await receiver.send(receiver.render_digest(digest))
    if image_url is None and isinstance(receiver, ImageUploader) and delivered.ref:
        png = await anyio.to_thread.run_sync(chart_png, report)
        await receiver.upload_image(
            png, f"{report_id(report)}.png", digest.image_alt, delivered.ref
        )
