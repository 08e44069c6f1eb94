"""`/reports`: the latest performance report on the status page, and each report's chart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from alertd.clock import Clock
from alertd.reports.chart import chart_png
from alertd.reports.recent import RecentReports, report_id
from alertd.reports.words import lines, title
from alertd.server.status_page import page_environment


def report_routes(recent: Callable[[], RecentReports], clock: Clock) -> list[Route]:
    env = page_environment()

    async def page(request: Request) -> Response:
        report = recent().latest()
        context: dict[str, Any] = {"now": clock.now(), "refresh": None, "report": None}
        if report is not None:
            context |= {
                "report": report,
                "title": title(report),
                "sections": lines(report),
                "chart": f"/reports/{report_id(report)}.png",
            }
        return HTMLResponse(env.get_template("reports.html").render(**context))

    async def chart(request: Request) -> Response:
        report = recent().get(request.path_params["report_id"])
        if report is None:
            return Response("no such report (only the latest ones are kept)\n", status_code=404)
        png = await anyio.to_thread.run_sync(chart_png, report)
        # A report never changes once built: its chart may be kept as long as wanted.
        headers = {"Cache-Control": "public, max-age=604800, immutable"}
        return Response(png, media_type="image/png", headers=headers)

    return [
        Route("/reports", page, methods=["GET"]),
        Route("/reports/{report_id}.png", chart, methods=["GET"]),
    ]
