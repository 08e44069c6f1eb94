"""`/healthz` (the event loop answers) and `/readyz` (rules loaded, store reachable, each
dataset answered within its last few ticks), each also at Prometheus' `/-/` paths."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from alertd.errors import StoreError
from alertd.server.parts import READY_FAILED_TICKS, ServerParts


class Healthy(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    problems: list[str]


def router(parts: ServerParts) -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get("/healthz")
    @api.get("/-/healthy")
    async def healthy() -> Healthy:
        """Answers while the event loop runs."""
        return Healthy(status="ok")

    @api.get("/readyz", responses={503: {"model": Readiness}})
    @api.get("/-/ready", responses={503: {"model": Readiness}})
    async def ready() -> JSONResponse:
        """200 when ready; 503 listing every reason when not."""
        problems = await readiness_problems(parts)
        body = Readiness(ready=not problems, problems=problems)
        return JSONResponse(body.model_dump(), status_code=503 if problems else 200)

    return api


async def readiness_problems(parts: ServerParts) -> list[str]:
    problems: list[str] = []
    if not parts.evaluator.ruleset.groups:
        problems.append("no rules loaded")
    if not parts.health.writable:
        problems.append(f"state store takes no writes: {parts.health.last_error}")
    try:
        await parts.store.silences(active_at=parts.clock.now())
    except StoreError as exc:
        problems.append(f"state store cannot be read: {exc}")
    for dataset, failed in sorted(parts.evaluator.dataset_failures.items()):
        if failed >= READY_FAILED_TICKS:
            problems.append(f"dataset {dataset}: its last {failed} ticks got no answer")
    return problems
