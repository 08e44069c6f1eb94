"""Every error the API gives is JSON with a `message`; bad input is a 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from alertd.server.am_models import ErrorMessage

log = structlog.get_logger(__name__)

# Documented on every route that takes input, so clients and schema checks know the shape.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorMessage, "description": "bad input; the message says which"},
}
CHANGE_RESPONSES: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorMessage, "description": "missing or wrong bearer token"},
    403: {"model": ErrorMessage, "description": "no API token is configured: changes are off"},
}


class ApiError(Exception):
    """An answer other than success, with the status and the message to give."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def install(app: FastAPI) -> None:
    """Make every error answer `{"message": ...}`."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _json(exc.status, exc.message, exc.headers)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return _json(exc.status_code, str(exc.detail), exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _json(400, describe(exc))

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api.bug", path=request.url.path)
        return _json(500, f"internal error: {type(exc).__name__}")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, bug)


def describe(exc: RequestValidationError) -> str:
    """Each problem as `where: what`, e.g. `body.endsAt: Input should be a valid datetime`."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


def _json(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)
