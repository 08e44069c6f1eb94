"""`/api/v2/silences` and `/api/v2/silence/{id}`: Alertmanager's silence API on the store."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from alertd.notify.matchers import Matcher, MatcherError, Op, matches_all
from alertd.notify.silences import Silence, SilenceError, from_record, new_silence, to_record
from alertd.server.am_models import (
    ErrorMessage,
    GettableSilence,
    MatcherModel,
    PostableSilence,
    SilenceCreated,
    SilenceStatus,
)
from alertd.server.auth import check_token
from alertd.server.errors import CHANGE_RESPONSES, ERROR_RESPONSES, ApiError
from alertd.server.filters import parse_filters
from alertd.server.parts import ServerParts

NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorMessage, "description": "no silence with that id"}
}


def router(parts: ServerParts) -> APIRouter:
    api = APIRouter(prefix="/api/v2", tags=["silence"])

    @api.get("/silences", responses=ERROR_RESPONSES)
    async def get_silences(
        filter: Annotated[list[str] | None, Query()] = None,
        active: bool = True,
        pending: bool = True,
        expired: bool = True,
    ) -> list[GettableSilence]:
        """Every silence; `filter` keeps those whose matchers satisfy every matcher given."""
        wanted = parse_filters(filter or ())
        now = parts.clock.now()
        states = {"active": active, "pending": pending, "expired": expired}
        shown = [
            s
            for s in (from_record(r) for r in await parts.store.silences())
            if states[s.state(now)] and _filtered(s, wanted)
        ]
        # Alertmanager's order: active, then pending, then expired; soonest change first.
        order = {"active": 0, "pending": 1, "expired": 2}
        shown.sort(key=lambda s: (order[s.state(now)], _sort_time(s, now)))
        return [gettable(s, now) for s in shown]

    @api.post("/silences", responses={**CHANGE_RESPONSES, **NOT_FOUND})
    async def post_silences(request: Request, silence: PostableSilence) -> SilenceCreated:
        """Create a silence; with the `id` of one that exists, replace it (the old one
        ends now and the new one gets a new id, as Alertmanager does when matchers change)."""
        check_token(request, parts.api_token)
        now = parts.clock.now()
        try:
            matchers = tuple(_matcher(m) for m in silence.matchers)
            created = new_silence(
                str(uuid.uuid4()),
                matchers,
                _aware(silence.startsAt, "startsAt"),
                _aware(silence.endsAt, "endsAt"),
                silence.createdBy,
                silence.comment,
                now,
            )
        except (SilenceError, MatcherError) as exc:
            raise ApiError(400, str(exc)) from None
        if silence.id:
            if await _find(parts, silence.id) is None:
                raise ApiError(404, f"no silence with id {silence.id!r}")
            await parts.store.expire_silence(silence.id, now)
        await parts.store.add_silence(to_record(created))
        return SilenceCreated(silenceID=created.id)

    @api.get("/silence/{silenceID}", responses=NOT_FOUND)
    async def get_silence(silenceID: str) -> GettableSilence:
        found = await _find(parts, silenceID)
        if found is None:
            raise ApiError(404, f"no silence with id {silenceID!r}")
        return gettable(found, parts.clock.now())

    @api.delete("/silence/{silenceID}", responses={**CHANGE_RESPONSES, **NOT_FOUND})
    async def delete_silence(request: Request, silenceID: str) -> None:
        """Expire the silence now (it stays listed as expired)."""
        check_token(request, parts.api_token)
        if await _find(parts, silenceID) is None:
            raise ApiError(404, f"no silence with id {silenceID!r}")
        await parts.store.expire_silence(silenceID, parts.clock.now())

    return api


def gettable(silence: Silence, now: dt.datetime) -> GettableSilence:
    return GettableSilence(
        id=silence.id,
        status=SilenceStatus(state=silence.state(now)),
        updatedAt=silence.ends_at if silence.state(now) == "expired" else silence.starts_at,
        matchers=[
            MatcherModel(
                name=m.name, value=m.value, isRegex="~" in m.op, isEqual=not m.op.startswith("!")
            )
            for m in silence.matchers
        ],
        startsAt=silence.starts_at,
        endsAt=silence.ends_at,
        createdBy=silence.created_by,
        comment=silence.comment,
    )


async def _find(parts: ServerParts, silence_id: str) -> Silence | None:
    records = await parts.store.silences()
    return next((from_record(r) for r in records if r.id == silence_id), None)


def _matcher(model: MatcherModel) -> Matcher:
    ops: dict[tuple[bool, bool], Op] = {
        (False, True): "=",
        (False, False): "!=",
        (True, True): "=~",
        (True, False): "!~",
    }
    op = ops[(model.isRegex, model.isEqual)]
    return Matcher(model.name, op, model.value)


def _aware(at: dt.datetime, name: str) -> dt.datetime:
    if at.tzinfo is None:
        raise SilenceError(f"{name} needs a time zone, e.g. 2026-01-02T15:04:05Z")
    return at.astimezone(dt.UTC)


def _filtered(silence: Silence, wanted: list[Matcher]) -> bool:
    """As Alertmanager: the silence's equality matchers, read as labels, satisfy `wanted`."""
    labels = {m.name: m.value for m in silence.matchers}
    return matches_all(tuple(wanted), labels)


def _sort_time(silence: Silence, now: dt.datetime) -> dt.datetime:
    state = silence.state(now)
    if state == "pending":
        return silence.starts_at
    return silence.ends_at if state == "active" else now - (silence.ends_at - now)
