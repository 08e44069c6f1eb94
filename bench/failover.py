"""Failover of replicas sharing one PostgreSQL database, killed over and over.

Three `alertd run` replicas run against the emulator, the local PagerDuty, Slack webhook
and Slack bot stand-ins and a database this script makes (and drops) on the local
server. Each round starts a burst of alerts, kills the leader with SIGKILL, and times
how long until the survivors hold every lease again (the takeover); then a fresh replica
joins and the leases spread again. At the end every alert has fired and resolved, and
the script prints the takeover times, the spread of leases (rule groups, plus the
leader's) over the replicas after each round, the duplicates and losses the receivers
saw (both must be 0), and the sends a new leader found in doubt. With `--answer-delay`
the receivers answer late, so a kill often lands between a send's mark and its record:
a Slack incoming webhook, which nothing can ask, then shows the repeat.

    .venv/bin/python bench/failover.py --rounds 5 --lease 3
    .venv/bin/python bench/failover.py --rounds 6 --lease 3 --answer-delay 0.7
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fakes live in tests/, which is not an installed package
from alertd.emulator.server import running_emulator  # noqa: E402
from tests import pg  # noqa: E402
from tests.ha.cluster import Pages, Replica, now, rules_folder, wait_until, write_burst  # noqa: E402
from tests.notify.fakes import serving  # noqa: E402

TABLES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lease", type=float, default=3.0, help="ALERTD_LEASE_SECONDS")
    parser.add_argument(
        "--answer-delay",
        type=float,
        default=0.0,
        help="seconds the receivers take to answer: with 0.7, a kill often lands mid-send",
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    leases = len(TABLES) + 1
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_emulator() as ae,
        serving() as fake,
        pg.test_database() as database,
        pg.test_schema(database) as url,
    ):
        folder = Path(tmp)
        fake.answer_delay = args.answer_delay
        write_burst(ae, "zulu", now() - dt.timedelta(days=1), 0.1)
        rules = rules_folder(folder / "rules", TABLES, fake)
        env = {"ALERTD_STATE_URL": url, "ALERTD_LEASE_SECONDS": str(args.lease)}
        started = 0

        def start() -> Replica:
            nonlocal started
            started += 1
            name = f"r{started}"
            replica = Replica.start(name, folder / name, ae, rules, env)
            replica.wait_started()
            return replica

        def held(replicas: list[Replica]) -> list[int]:
            return [len(r.status()["leases"]) for r in replicas]

        def spread(replicas: list[Replica]) -> bool:
            counts = held(replicas)
            return sum(counts) == leases and max(counts) - min(counts) <= 1

        replicas = [start() for _ in range(3)]
        takeovers: list[float] = []
        spreads: list[list[int]] = []
        everyone = list(replicas)
        try:
            wait_until(lambda: spread(replicas), "the leases to spread")
            for round_ in range(args.rounds):
                table = TABLES[round_ % len(TABLES)]
                write_burst(ae, table, now(), 3)
                time.sleep(1)
                leader = next(r for r in replicas if r.status()["is_leader"])
                killed_at = time.monotonic()
                leader.process.send_signal(signal.SIGKILL)
                leader.process.wait(timeout=10)
                replicas.remove(leader)
                wait_until(lambda: sum(held(replicas)) == leases, "the takeover")
                takeovers.append(time.monotonic() - killed_at)
                replicas.append(start())
                everyone.append(replicas[-1])
                wait_until(lambda: spread(replicas), "the leases to spread again")
                spreads.append(sorted(held(replicas), reverse=True))
                print(
                    f"round {round_ + 1}: killed the leader {leader.name}; takeover"
                    f" {takeovers[-1]:.1f} s; leases per replica after one joined:"
                    f" {spreads[-1]}"
                )
            fired = TABLES[: min(args.rounds, len(TABLES))]
            wait_until(lambda: Pages.of(fake, fired).complete(fired), "every page", 60)
            time.sleep(args.lease)
            pages = Pages.of(fake, fired)
        finally:
            for replica in everyone:
                replica.end()
    print(
        f"takeover (s): median {statistics.median(takeovers):.1f}, worst {max(takeovers):.1f}"
        f" over {len(takeovers)} kills, lease {args.lease:g} s (bound: 4/3 of it)"
    )
    print(f"spread of {leases} leases over 3 replicas: {spreads}")
    print(f"duplicates: {pages.duplicates()}  losses: {pages.losses(fired)}")
    # PagerDuty merges a repeated trigger into the open alert and drops a repeated
    # resolve: no second page.
    print(f"PagerDuty events repeated (merged or dropped by it): {pages.pagerduty_repeats()}")
    # Entries sent again after an attempt whose answer was not recorded (or failed):
    # asked first where the service can say (the Slack bot), sent again elsewhere.
    in_doubt = [e for r in everyone for e in r.events("notification.in_doubt")]
    per_receiver = Counter(e["receiver"] for e in in_doubt)
    found = sum(1 for e in in_doubt if e.get("found"))
    print(f"sends in doubt: {dict(per_receiver)}; Slack bot posts found already made: {found}")
    if pages.duplicates() or pages.losses(fired):
        print(f"received: {pages}")
        # Which replica recorded each delivery: a page sent twice and recorded once was
        # cut off between its send and its record (the leader killed mid-send).
        for replica in everyone:
            sent = [e["notification"] for e in replica.events("notification.delivered")]
            print(f"{replica.name} recorded as delivered: {sent}")
    return 0 if pages.duplicates() == 0 and pages.losses(fired) == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
