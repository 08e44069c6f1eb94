"""A report's chart as a PNG: P95 response time of the slowest endpoints, as bars.

PNG because Slack and Teams show neither SVG nor HTML; drawn with pillow's built-in font
so the picture is the same on every machine.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from alertd.reports.figures import Report

WIDTH, ROW, TOP, LEFT, RIGHT = 640, 28, 36, 200, 90
BAR = (0x2B, 0x6C, 0xB0)
INK = (0x20, 0x20, 0x20)
LABEL_CHARS = 30


def chart_png(report: Report) -> bytes:
    """Bars of P95 ms per endpoint, the longest spanning the plot; a note when no data."""
    rows = [r for r in report.api.slowest_endpoints if r.value is not None]
    height = TOP + ROW * max(1, len(rows)) + 12
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((12, 10), "P95 response time by endpoint (ms)", fill=INK)
    longest = max((r.value or 0.0 for r in rows), default=0.0)
    span = WIDTH - LEFT - RIGHT
    for index, row in enumerate(rows):
        y = TOP + index * ROW
        value = row.value or 0.0
        length = round(span * value / longest) if longest else 0
        draw.text((12, y + 6), _label(row.name), fill=INK)
        draw.rectangle((LEFT, y + 4, LEFT + max(length, 1), y + ROW - 6), fill=BAR)
        draw.text((LEFT + length + 6, y + 6), f"{value:.0f}", fill=INK)
    if not rows:
        draw.text((12, TOP + 6), "no requests in this period", fill=INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _label(name: str) -> str:
    # The built-in font is Latin-1 only; other characters would fail to draw.
    text = name.encode("latin-1", "replace").decode("latin-1")
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3] + "..."
