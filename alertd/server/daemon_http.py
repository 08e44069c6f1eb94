"""The one call the daemon makes: its HTTP server, built from its parts and settings."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from alertd.server.address import parse_address
from alertd.server.app import build_app
from alertd.server.auth import read_token
from alertd.server.parts import ServerParts
from alertd.server.serve import HttpServer
from alertd.settings import Settings


class HttpSetupError(Exception):
    """The server cannot start; the message names the setting and why."""


def http_server(
    settings: Settings, parts: ServerParts, extra_routes: Sequence[BaseRoute] = ()
) -> HttpServer:
    """A server bound to `settings.http_addr` with the token configured; run it with
    `task_group.start(server.run)` and end it with `server.stop()`."""
    try:
        host, port = parse_address(settings.http_addr)
    except ValueError as exc:
        raise HttpSetupError(f"ALERTD_HTTP_ADDR or --http: {exc}") from None
    try:
        parts.api_token = read_token(settings.api_token.get_secret_value(), settings.api_token_file)
    except ValueError as exc:
        raise HttpSetupError(str(exc)) from None
    try:
        return HttpServer(build_app(parts, extra_routes), host, port, parts.loop_lag)
    except OSError as exc:
        raise HttpSetupError(f"cannot serve HTTP on {settings.http_addr}: {exc.strerror}") from None
