"""A report as plain text for a terminal; names from data are escaped, one per line."""

from __future__ import annotations

from alertd.reports.figures import Report
from alertd.reports.words import lines, title
from alertd.terminal import printable


def render_text(report: Report) -> str:
    out = [title(report)]
    for heading, section in lines(report):
        out += ["", heading, *(f"  {printable(line)}" for line in section)]
    return "\n".join(out) + "\n"
