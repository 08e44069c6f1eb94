"""What one tick's commit costs on the SQLite and the PostgreSQL stores, and a restart's load.

A group of 200 alerts commits each tick their states and one series point each (and 20
transitions); printed per store: the median and worst commit over 100 ticks, and the time
to load the 200 states back. Then 100 steady ticks, in which the 200 alerts go on firing as
they were: the evaluator writes none of their states, only a point each and the rule's
evaluation. PostgreSQL runs on a database this script makes, and drops,
on the server `--server` names (the local one by default).

    .venv/bin/python bench/store_ticks.py
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
import structlog
from psycopg import sql

from alertd.model import AlertState, Change, SeriesPoint, Severity, Status, Transition
from alertd.store.base import Commit, Store
from alertd.store.postgres import PostgresStore
from alertd.store.sqlite import SqliteStore

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
ALERTS = 200
TICKS = 100
CHANGED_PER_TICK = 20


def tick(n: int) -> Commit:
    at = T0 + dt.timedelta(seconds=60 * n)
    states = tuple(
        AlertState(
            fingerprint=f"fp{i}",
            rule="SlowQueryP95",
            labels=(("table", f"t{i}"),),
            status=Status.FIRING,
            severity=Severity.CRITICAL,
            active_since=T0,
            firing_since=T0,
            last_breach=at,
            last_seen=at,
            last_eval=at,
            value=200.0 + i,
            samples=40,
        )
        for i in range(ALERTS)
    )
    points = tuple(SeriesPoint(s.fingerprint, at, s.value, 40) for s in states)
    transitions = tuple(
        Transition(
            at=at,
            fingerprint=s.fingerprint,
            rule=s.rule,
            labels=s.labels,
            change=Change.FIRING,
            previous=Status.PENDING,
            status=Status.FIRING,
            severity=Severity.CRITICAL,
            previous_severity=None,
            value=s.value,
            reason="bench",
        )
        for s in states[:CHANGED_PER_TICK]
    )
    return Commit(at=at, group="bench", states=states, points=points, transitions=transitions)


def steady(n: int) -> Commit:
    """Tick `n` after the written ones, in which no alert changes."""
    at = T0 + dt.timedelta(seconds=60 * (TICKS + n))
    points = tuple(SeriesPoint(f"fp{i}", at, 200.0 + i, 40) for i in range(ALERTS))
    return Commit(at=at, group="bench", points=points, evaluated=("SlowQueryP95",))


async def timed(store: Store, commits: list[Commit]) -> list[float]:
    took: list[float] = []
    for commit in commits:
        started = time.perf_counter()
        await store.commit(commit)
        took.append(time.perf_counter() - started)
    return took


async def measure(name: str, store: Store) -> None:
    try:
        took = await timed(store, [tick(n) for n in range(TICKS)])
        started = time.perf_counter()
        loaded = await store.load()
        load_ms = (time.perf_counter() - started) * 1000
        quiet = await timed(store, [steady(n) for n in range(TICKS)])
    finally:
        await store.aclose()
    assert len(loaded) == ALERTS
    print(
        f"{name:<10} commit of {ALERTS} states + {ALERTS} points + {CHANGED_PER_TICK}"
        f" transitions: median {statistics.median(took) * 1000:.1f} ms,"
        f" worst {max(took) * 1000:.1f} ms over {TICKS} ticks; load {load_ms:.1f} ms;"
        f" steady tick (no state, {ALERTS} points): median"
        f" {statistics.median(quiet) * 1000:.1f} ms, worst {max(quiet) * 1000:.1f} ms"
    )


async def main(server: str) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with tempfile.TemporaryDirectory() as folder:
        await measure("sqlite", await SqliteStore.open(Path(folder) / "alertd.db"))
    database = f"alertd_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        await measure("postgresql", await PostgresStore.open(f"{server}/{database}"))
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    asyncio.run(main(parser.parse_args().server))
