"""`GET /api/v1/status`: which replica answers, what it works (its leases), and which
replica leads the notification pipeline. Every replica answers the rest of the API from
the shared store; this is the one answer that differs between them."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from alertd.server.parts import ServerParts
from alertd.store.ownership import GROUP_PREFIX, NOTIFY_LEASE


class ReplicaStatus(BaseModel):
    replica: str
    # Whether other replicas may share the store (PostgreSQL); False: this one does all.
    shared: bool
    leader: str | None
    is_leader: bool
    leases: list[str]
    groups: list[str]
    live_replicas: list[str]


def router(parts: ServerParts) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["general"])

    @api.get("/status")
    async def status() -> ReplicaStatus:
        """This replica, the leases it holds and the rule groups they give it, the
        leader, and the live replicas (as its last lease renewal saw them)."""
        owner = parts.ownership
        held = owner.held()
        return ReplicaStatus(
            replica=owner.replica,
            shared=owner.shared,
            leader=owner.leader,
            is_leader=NOTIFY_LEASE in held,
            leases=held,
            groups=[n.removeprefix(GROUP_PREFIX) for n in held if n.startswith(GROUP_PREFIX)],
            live_replicas=owner.live,
        )

    return api
