"""A report as a digest: the message Slack and Teams receivers render as blocks or a card."""

from __future__ import annotations

from alertd.notify.receivers.digest import Digest
from alertd.reports.figures import Report
from alertd.reports.words import lines, title


def as_digest(report: Report, image_url: str | None = None) -> Digest:
    sections = tuple((heading, tuple(section)) for heading, section in lines(report))
    alt = f"P95 response time per endpoint, {title(report)}"
    return Digest(title(report), sections, image_url=image_url, image_alt=alt)
