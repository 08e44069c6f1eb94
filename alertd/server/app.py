"""The ASGI app: every route of the daemon's HTTP face, built from its parts."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.routing import BaseRoute

from alertd.server import (
    alerts_api,
    control_api,
    errors,
    health_api,
    metrics,
    prometheus_api,
    replica_api,
    silences_api,
)
from alertd.server.parts import ServerParts


def build_app(parts: ServerParts, extra_routes: Sequence[BaseRoute] = ()) -> FastAPI:
    """The app; `extra_routes` (e.g. a status page's) are mounted beside the API.

    The OpenAPI document is at /openapi.json, its browsable form at /docs.
    """
    app = FastAPI(
        title="alertd",
        version=parts.version,
        description=(
            "alertd's HTTP API: health, metrics, an Alertmanager-compatible API v2 and "
            "Prometheus-shaped rules and alerts. Changing endpoints need "
            "`Authorization: Bearer <ALERTD_API_TOKEN>`."
        ),
        redoc_url=None,
    )
    errors.install(app)
    for module in (
        health_api,
        metrics,
        alerts_api,
        silences_api,
        prometheus_api,
        replica_api,
        control_api,
    ):
        app.include_router(module.router(parts))
    app.router.routes.extend(extra_routes)
    return app
