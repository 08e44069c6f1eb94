"""Three `alertd run` replicas on one PostgreSQL database, through a burst of alerts that
fire and resolve, while one is killed (SIGKILL), the leader is frozen (SIGSTOP) past its
lease, and another replica's database connections are cut (`pg_terminate_backend`):
every page arrives once, and the frozen leader sends nothing when it wakes."""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

from alertd.emulator.server import RunningEmulator
from tests import pg
from tests.ha.cluster import (
    Pages,
    Replica,
    now,
    rules_folder,
    wait_until,
    write_burst,
)
from tests.notify.fakes import FakeServices

TABLES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
LEASE_SECONDS = 3
# Group leases and the leader's, over three replicas: 3, 2 and 2.
LEASES = len(TABLES) + 1


def holders(replicas: list[Replica]) -> dict[str, list[str]]:
    return {r.name: r.status()["leases"] for r in replicas}


def leader_of(replicas: list[Replica]) -> Replica:
    found = [r for r in replicas if r.status()["is_leader"]]
    assert len(found) == 1, holders(replicas)
    return found[0]


def test_replicas_fail_over_without_losing_or_repeating_a_page(
    tmp_path: Path, ae: RunningEmulator, fake: FakeServices, pg_url: str, pg_database: str
) -> None:
    ae.reset()
    # The dataset exists before the replicas first ask for it.
    write_burst(ae, "zulu", now() - dt.timedelta(days=1), 0.1)
    rules = rules_folder(tmp_path / "rules", TABLES, fake)
    env = {"ALERTD_STATE_URL": pg_url, "ALERTD_LEASE_SECONDS": str(LEASE_SECONDS)}
    replicas = [Replica.start(n, tmp_path / n, ae, rules, env) for n in ("r1", "r2", "r3")]
    try:
        for replica in replicas:
            replica.wait_started()

        def spread() -> bool:
            held = [len(leases) for leases in holders(replicas).values()]
            return sum(held) == LEASES and max(held) - min(held) <= 1

        wait_until(spread, "the leases to spread over three replicas")

        # A burst: one table's alert fires every 3 s, each for about 5 s.
        start = now() + dt.timedelta(seconds=1)
        for i, table in enumerate(TABLES):
            write_burst(ae, table, start + dt.timedelta(seconds=3 * i), 3)

        # The leader dies mid-burst; another takes the pipeline over.
        time.sleep(3)
        killed = leader_of(replicas)
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait(timeout=10)
        alive = [r for r in replicas if r is not killed]
        wait_until(lambda: any(r.status()["is_leader"] for r in alive), "a new leader")

        # The new leader freezes for longer than its lease, then wakes.
        frozen = leader_of(alive)
        other = next(r for r in alive if r is not frozen)
        frozen.process.send_signal(signal.SIGSTOP)
        wait_until(lambda: other.status()["is_leader"], "the other replica to lead")
        assert len(other.status()["leases"]) == LEASES  # it works every group alone
        frozen.process.send_signal(signal.SIGCONT)
        woke = time.monotonic()

        # The other replica's database connections are cut.
        assert pg.terminate_process_backends(pg_database, other.process.pid) >= 1

        wait_until(
            lambda: Pages.of(fake, TABLES).complete(TABLES),
            "every page",
            45,
            lambda: f"{Pages.of(fake, TABLES)}",
        )
        time.sleep(LEASE_SECONDS)  # anything sent twice would arrive by now
        pages = Pages.of(fake, TABLES)
        assert pages.duplicates() == 0, pages
        assert pages.losses(TABLES) == 0, pages
        for table in TABLES:
            assert pages.pagerduty[table] == ["trigger", "resolve"], (table, pages)
            assert len(pages.slack[table]) == 2, (table, pages)
            assert len(pages.bot_posts[table]) == 1, (table, pages)
        # The frozen leader, awake, sent nothing: its send was refused, or never tried.
        assert frozen.events("notification.delivered", since=woke) == []
        assert all(r.status()["live_replicas"] for r in alive)
        assert {r.status()["leader"] for r in alive} == {other.status()["replica"]}
    finally:
        codes = {r.name: r.end() for r in replicas}
    assert codes.pop(killed.name) == -signal.SIGKILL
    assert set(codes.values()) == {0}, codes
