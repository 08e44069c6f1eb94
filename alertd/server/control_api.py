"""`POST /-/reload`: reload the rules and notification settings, as SIGHUP does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from alertd.server.am_models import ErrorMessage
from alertd.server.auth import check_token
from alertd.server.errors import CHANGE_RESPONSES, ApiError
from alertd.server.parts import ServerParts


class Reloaded(BaseModel):
    message: str


def router(parts: ServerParts) -> APIRouter:
    api = APIRouter(tags=["control"])

    @api.post(
        "/-/reload",
        responses={
            **CHANGE_RESPONSES,
            422: {"model": ErrorMessage, "description": "the new files were refused"},
            404: {"model": ErrorMessage, "description": "this server has nothing to reload"},
        },
    )
    async def reload(request: Request) -> Reloaded:
        """Take the rule files again; invalid ones are refused and the old ones kept."""
        check_token(request, parts.api_token)
        if parts.reload is None:
            raise ApiError(404, "reloading is not available here")
        if not await parts.reload():
            raise ApiError(422, "reload failed: the old rules are kept (the log says why)")
        return Reloaded(message="reloaded")

    return api
