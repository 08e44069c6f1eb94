"""`GET /api/v1/status` and the lease metrics: which replica answers, what it holds, and
whether it leads the notification pipeline."""

from __future__ import annotations

import httpx
import pytest

from alertd.store.ownership import SoleOwner
from tests.server.harness import Daemon
from tests.server.test_metrics import scrape

pytestmark = pytest.mark.anyio


async def test_a_lone_daemon_holds_every_group_and_leads(
    alertd: Daemon, http: httpx.AsyncClient
) -> None:
    owner = SoleOwner("alertd-1")
    owner.want(["db", "api"])
    alertd.parts.ownership = owner

    status = (await http.get("/api/v1/status")).json()

    assert status == {
        "replica": "alertd-1",
        "shared": False,
        "leader": "alertd-1",
        "is_leader": True,
        "leases": ["group:api", "group:db", "notify"],
        "groups": ["api", "db"],
        "live_replicas": ["alertd-1"],
    }
    metrics = await scrape(http)
    assert metrics[("alertd_leases_held", ())] == 3.0
    assert metrics[("alertd_leader", ())] == 1.0


class Follower(SoleOwner):
    """A replica that holds one group, while another leads."""

    @property
    def shared(self) -> bool:
        return True

    @property
    def leader(self) -> str | None:
        return "alertd-2"

    def token(self, lease: str) -> int | None:
        return 4 if lease == "group:db" else None

    def held(self) -> list[str]:
        return ["group:db"]


async def test_a_replica_that_does_not_lead_says_who_does(
    alertd: Daemon, http: httpx.AsyncClient
) -> None:
    alertd.parts.ownership = Follower("alertd-1")

    status = (await http.get("/api/v1/status")).json()

    assert (status["leader"], status["is_leader"], status["groups"]) == ("alertd-2", False, ["db"])
    metrics = await scrape(http)
    assert metrics[("alertd_leases_held", ())] == 1.0
    assert metrics[("alertd_leader", ())] == 0.0
