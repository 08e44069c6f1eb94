"""The one call the daemon makes: its HTTP server, built from its parts and settings."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from alertd.server.address import parse_address
from alertd.server.analytics import analytics_routes
from alertd.server.app import build_app
from alertd.server.auth import read_token
from alertd.server.parts import ServerParts
from alertd.server.report_page import report_routes
from alertd.server.serve import HttpServer
from alertd.server.status_page import status_routes
from alertd.settings import Settings
from alertd.sources.base import Source


class HttpSetupError(Exception):
    """The server cannot start; the message names the setting and why."""


def http_server(
    settings: Settings,
    parts: ServerParts,
    source: Source | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> HttpServer:
    """A server bound to `settings.http_addr` with the token configured, serving the API,
    the status page and (given the daemon's `source`) the analytics endpoints; run it with
    `task_group.start(server.run)` and end it with `server.stop()`."""
    try:
        host, port = parse_address(settings.http_addr)
    except ValueError as exc:
        raise HttpSetupError(f"ALERTD_HTTP_ADDR or --http: {exc}") from None
    try:
        parts.api_token = read_token(settings.api_token.get_secret_value(), settings.api_token_file)
    except ValueError as exc:
        raise HttpSetupError(str(exc)) from None
    routes = [*page_routes(parts, source), *extra_routes]
    try:
        return HttpServer(build_app(parts, routes), host, port, parts.loop_lag)
    except OSError as exc:
        raise HttpSetupError(f"cannot serve HTTP on {settings.http_addr}: {exc.strerror}") from None


def page_routes(parts: ServerParts, source: Source | None) -> list[BaseRoute]:
    """The status page, reading the parts at each request, and the analytics endpoints."""
    evaluator, notifier = parts.evaluator, parts.notifier
    routes: list[BaseRoute] = [
        *status_routes(
            store=parts.store,
            states=lambda: evaluator.states,
            ruleset=lambda: evaluator.ruleset,
            clock=parts.clock,
            api_token=parts.api_token,
            inhibit_rules=lambda: notifier.config.inhibit_rules,
            rule_errors=lambda: evaluator.unhealthy,
            source_lags=lambda: evaluator.freshness.lags() if evaluator.freshness else {},
        ),
        *report_routes(lambda: parts.reports, parts.clock),
    ]
    if source is not None:
        routes += analytics_routes(
            source=source, datasets=evaluator.ruleset.datasets, clock=parts.clock
        )
    return routes
