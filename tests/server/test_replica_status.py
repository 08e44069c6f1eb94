"""`GET /api/v1/status` and the lease metrics: which replica answers, what it holds, and
whether it leads the notification pipeline; and the cluster Alertmanager's
`GET /api/v2/status` shows."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from alertd.store.ownership import SoleOwner
from alertd.store.postgres import PostgresStore
from tests.server.harness import Daemon
from tests.server.test_alertmanager_schema import validate
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


async def test_alertmanagers_status_calls_a_lone_daemon_no_cluster(
    alertd: Daemon, http: httpx.AsyncClient
) -> None:
    answer = (await http.get("/api/v2/status")).json()

    validate(answer, "/status")
    assert answer["cluster"] == {"name": "", "status": "disabled", "peers": []}


async def test_replicas_on_postgresql_are_a_ready_cluster_of_their_live_peers(
    alertd: Daemon, http: httpx.AsyncClient, pg_url: str
) -> None:
    stores = [await PostgresStore.open(pg_url) for _ in range(3)]
    try:
        keepers = [
            store.lease_keeper(alertd.parts.clock, seconds=30, replica=f"alertd-{i}")
            for i, store in enumerate(stores, start=1)
        ]
        for keeper in [*keepers, keepers[0]]:  # the first beats again: it sees the others
            keeper.want(["db"])
            await keeper.beat()
        # The third stops: its beat grows old, and it is no longer a peer.
        await keepers[2].release_all()
        await stores[2].aclose()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE replicas SET seen_at = now() - interval '1h' WHERE id = 'alertd-3'"
            )
        await keepers[0].beat()
        alertd.parts.ownership = keepers[0]

        answer = (await http.get("/api/v2/status")).json()
    finally:
        for store in stores[:2]:
            await store.aclose()

    validate(answer, "/status")
    assert answer["cluster"] == {
        "name": "alertd-1",
        "status": "ready",
        "peers": [{"name": "alertd-1", "address": ""}, {"name": "alertd-2", "address": ""}],
    }
