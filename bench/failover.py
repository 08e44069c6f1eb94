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

At the end it waits for what it expects: every fired alert's resolve enqueued for every
receiver and nothing left pending in the shared outbox, for at most a time that grows with
`--answer-delay`. Each alert here fires for only about 11 s; when the receivers answer
slowly and the leader is killed every round, the pipeline can run further behind than
that, and the outbox then supersedes a trigger whose alert resolved before its turn
together with its resolve (nothing was sent to resolve, `store.base.supersede`). Those
are counted apart, as "resolved before their turn", not as losses: a loss is a page the
outbox owes (its group's trigger went out) that the receiver does not have.

    .venv/bin/python bench/failover.py --rounds 5 --lease 3
    .venv/bin/python bench/failover.py --rounds 6 --lease 3 --answer-delay 0.7
    .venv/bin/python bench/failover.py --rounds 6 --lease 3 --answer-delay 2.5
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import structlog
from anyio.from_thread import start_blocking_portal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fakes live in tests/, which is not an installed package
from alertd.emulator.server import running_emulator  # noqa: E402
from alertd.model import Delivery, OutboxEntry  # noqa: E402
from alertd.store.postgres import PostgresStore  # noqa: E402
from tests import pg  # noqa: E402
from tests.ha.cluster import Pages, Replica, now, rules_folder, wait_until, write_burst  # noqa: E402
from tests.notify.fakes import serving  # noqa: E402

TABLES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
RECEIVERS = ["pager", "slack", "slack-bot"]  # as tests/ha/cluster.py's notify.yaml names them
# What a slow receiver's last notifications may take after the last round: each table's
# trigger and resolve, three calls each (the Slack bot's lookup, update and thread reply),
# one after another, each answered `--answer-delay` late.
CALLS_AFTER_LAST_ROUND = 2 * 3


@contextmanager
def outbox_reader(url: str) -> Iterator[Callable[[], list[OutboxEntry]]]:
    """A function reading the replicas' shared outbox, on a store of its own."""
    with start_blocking_portal() as portal:
        store = portal.call(PostgresStore.open, url)
        try:
            yield lambda: portal.call(partial(store.outbox, limit=10_000))
        finally:
            portal.call(store.aclose)


def table_of(entry: OutboxEntry, tables: list[str]) -> str | None:
    return next((t for t in tables if f'table="{t}"' in entry.notification.group_key), None)


def settled(entries: list[OutboxEntry], tables: list[str]) -> bool:
    """Every table's resolve is enqueued for every receiver, and nothing waits to be sent."""
    resolves = {
        (table_of(e, tables), e.notification.receiver) for e in entries if not e.notification.firing
    }
    return all(e.status is not Delivery.PENDING for e in entries) and all(
        (t, r) in resolves for t in tables for r in RECEIVERS
    )


def resolved_before_their_turn(entries: list[OutboxEntry], tables: list[str]) -> set[str]:
    """`table/receiver` whose alert resolved before any trigger of it was recorded as
    delivered there: the outbox superseded the trigger (an attempt in doubt may have
    arrived all the same), and sends the resolve only if the trigger may have arrived."""
    unsent: set[str] = set()
    for t in tables:
        for r in RECEIVERS:
            triggers = [
                e
                for e in entries
                if e.notification.receiver == r
                and e.notification.firing
                and table_of(e, tables) == t
            ]
            if triggers and all(e.status is Delivery.SUPERSEDED for e in triggers):
                unsent.add(f"{t}/{r}")
    return unsent


def missing(pages: Pages, table: str, receiver: str) -> int:
    """`Pages.losses` of one table at one receiver."""
    if receiver == "pager":
        return len({"trigger", "resolve"} - set(pages.pagerduty.get(table, [])))
    if receiver == "slack":
        return max(0, 2 - len(set(pages.slack.get(table, []))))
    posts = pages.bot_posts.get(table, [])
    return 0 if any(p.startswith("[RESOLVED") for p in posts) else 1


def owed_losses(pages: Pages, tables: list[str], unsent: set[str]) -> int:
    """`Pages.losses`, but only of the pages the outbox owes: none at a receiver where the
    alert resolved before its trigger's turn."""
    return sum(missing(pages, t, r) for t in tables for r in RECEIVERS if f"{t}/{r}" not in unsent)


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
            wait = 60 + CALLS_AFTER_LAST_ROUND * len(fired) * args.answer_delay
            with outbox_reader(url) as outbox:
                waited = time.monotonic()
                wait_until(
                    lambda: settled(outbox(), fired),
                    "every resolve enqueued and nothing left to send",
                    wait,
                    found=lambda: [
                        (e.notification.receiver, table_of(e, fired), e.status.value)
                        for e in outbox()
                        if e.status is Delivery.PENDING
                    ],
                )
                waited = time.monotonic() - waited
                time.sleep(args.lease)  # a repeat from a replica that lost its lease would come now
                entries = outbox()
            pages = Pages.of(fake, fired)
            unsent = resolved_before_their_turn(entries, fired)
        finally:
            for replica in everyone:
                replica.end()
    print(
        f"takeover (s): median {statistics.median(takeovers):.1f}, worst {max(takeovers):.1f}"
        f" over {len(takeovers)} kills, lease {args.lease:g} s (bound: 4/3 of it)"
    )
    print(f"spread of {leases} leases over 3 replicas: {spreads}")
    print(f"outbox settled {waited:.1f} s after the last round (deadline {wait:g} s)")
    losses = owed_losses(pages, fired, unsent)
    print(f"duplicates: {pages.duplicates()}  losses: {losses}")
    # Not losses: the outbox's choice (store.base.supersede), counted apart; the pages
    # missing there are the difference between the two counts.
    unsent_pages = {u: missing(pages, *u.split("/")) for u in sorted(unsent)}
    print(
        f"pages not sent, their alert resolved before their trigger's turn:"
        f" {sum(unsent_pages.values())} {[u for u, n in unsent_pages.items() if n]}"
        f" (of {len(unsent)} table/receiver with no trigger confirmed delivered)"
    )
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
    return 0 if pages.duplicates() == 0 and losses == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
