"""Changing endpoints need the bearer token; with none configured they are off."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import Request

from alertd.server.errors import ApiError

CHANGES_OFF = (
    "changing endpoints are off: no API token is configured "
    "(set ALERTD_API_TOKEN or ALERTD_API_TOKEN_FILE)"
)


def read_token(token: str, token_file: Path | None) -> str | None:
    """The configured token, from the variable or the file (stripped); None when unset.

    Raises ValueError naming the file when it cannot be read or is empty.
    """
    if token:
        return token
    if token_file is None:
        return None
    try:
        text = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"ALERTD_API_TOKEN_FILE {token_file}: {exc.strerror}") from None
    if not text:
        raise ValueError(f"ALERTD_API_TOKEN_FILE {token_file} is empty")
    return text


def check_token(request: Request, token: str | None) -> None:
    """Raise ApiError unless the request carries `Authorization: Bearer <token>`."""
    if token is None:
        raise ApiError(403, CHANGES_OFF)
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode(), token.encode()
    ):
        raise ApiError(
            401, "a valid bearer token is needed", headers={"WWW-Authenticate": "Bearer"}
        )
