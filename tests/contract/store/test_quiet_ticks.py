"""A tick in which no alert changes writes no alert state, on every store, and what is
read back after it is what the evaluator holds: each rule's last evaluation moves the
times of the states it did not write (`store.base.as_loaded`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from alertd.engine.lifecycle import Policy, advance
from alertd.engine.step import Step
from alertd.engine.verdict import Condition, Verdict
from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.store.base import Commit, Store
from alertd.store.postgres import PostgresStore
from alertd.store.sqlite import SqliteStore
from tests.contract.store.builders import HISTORY, T0

pytestmark = pytest.mark.anyio

RULE = "SlowQueryP95"
TICK = dt.timedelta(seconds=30)
POLICY = Policy(
    for_=dt.timedelta(minutes=5),
    keep_firing_for=dt.timedelta(minutes=10),
    no_data="keep",
    stale_after=dt.timedelta(minutes=10),
)
BREACH = Verdict(Condition.BREACH, Severity.CRITICAL, 250.0, 40, "> 200")
CLEAR = Verdict(Condition.CLEAR, None, 120.0, 40)
UNKNOWN = Verdict(Condition.UNKNOWN, None, 180.0, 3)
# Each alert's verdict at every tick: it fires and keeps breaching; it fired, cleared and
# is held by keep_firing_for; it pends towards `for`; it fired and now has too few rows.
ALERTS = {"breaching": BREACH, "held": CLEAR, "pending": BREACH, "unjudged": UNKNOWN}

RowTimes = Callable[[], dict[str, int]]


@pytest.fixture(params=["sqlite", "postgres"])
async def with_rows(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, RowTimes]]:
    """A store that keeps rows, and a reading of each alert_state row's `updated_at`: the
    time of the commit that last wrote it."""
    query = "SELECT fingerprint, updated_at FROM alert_state"
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        pg = await PostgresStore.open(url, history_limit=HISTORY)

        def pg_rows() -> dict[str, int]:
            with psycopg.connect(url) as conn:
                return {str(fp): int(str(at)) for fp, at in conn.execute(query).fetchall()}

        yield pg, pg_rows
        await pg.aclose()
        return
    path = tmp_path / "alertd.db"
    lite = await SqliteStore.open(path, history_limit=HISTORY)

    def sqlite_rows() -> dict[str, int]:
        with closing(sqlite3.connect(path)) as conn:
            return {fp: at for fp, at in conn.execute(query).fetchall()}

    yield lite, sqlite_rows
    await lite.aclose()


def first_states() -> dict[str, AlertState]:
    """The four alerts as a tick at T0 leaves them."""
    since = T0 - dt.timedelta(hours=1)

    def alert(name: str, **fields: object) -> AlertState:
        fp = fingerprint(RULE, (("table", name),))
        base = AlertState(fp, RULE, (("table", name),), Status.FIRING, Severity.CRITICAL)
        return dataclasses.replace(base, last_eval=T0, value=250.0, samples=40, **fields)

    fired = {"active_since": since, "firing_since": since, "last_seen": T0}
    return {
        s.fingerprint: s
        for s in (
            alert("breaching", last_breach=T0, **fired),
            alert("held", last_breach=T0 - 2 * TICK, **fired),
            alert(
                "pending",
                status=Status.PENDING,
                active_since=T0 - TICK,
                last_breach=T0,
                last_seen=T0,
            ),
            alert("unjudged", last_breach=T0 - TICK, **{**fired, "last_seen": T0 - TICK}),
        )
    }


def tick(states: dict[str, AlertState], now: dt.datetime) -> Step:
    out = Step(evaluated=[RULE])
    for state in states.values():
        after, transition = advance(state, ALERTS[dict(state.labels)["table"]], POLICY, now)
        out.record(state, after, transition)
    return out


async def test_a_tick_that_changes_no_alert_writes_no_alert_state_row(
    with_rows: tuple[Store, RowTimes],
) -> None:
    store, row_times = with_rows
    states = first_states()
    await store.commit(Commit(at=T0, group="database", states=tuple(states.values())))
    written = row_times()

    for n in (1, 2, 3):
        step = tick(states, T0 + n * TICK)
        assert not step.transitions
        changed = step.to_write(states)
        await store.commit(
            Commit(
                at=T0 + n * TICK,
                group="database",
                states=changed,
                evaluated=tuple(step.evaluated),
            )
        )
        states = {**states, **step.states}

        assert changed == ()
        assert row_times() == written


async def test_states_not_written_read_back_as_the_evaluator_holds_them(store: Store) -> None:
    states = first_states()
    await store.commit(Commit(at=T0, group="database", states=tuple(states.values())))
    for n in (1, 2, 3):
        step = tick(states, T0 + n * TICK)
        await store.commit(
            Commit(
                at=T0 + n * TICK,
                group="database",
                states=step.to_write(states),
                evaluated=tuple(step.evaluated),
            )
        )
        states = {**states, **step.states}

    loaded = await store.load()

    # Value and samples are as last written: what each alert showed when it last changed.
    shown = {fp: dataclasses.replace(s, value=250.0, samples=40) for fp, s in states.items()}
    assert loaded == shown
    last = T0 + 3 * TICK
    held, breaching = (loaded[fingerprint(RULE, (("table", t),))] for t in ("held", "breaching"))
    assert (breaching.last_eval, breaching.last_breach, breaching.last_seen) == (last,) * 3
    assert (held.last_eval, held.last_breach, held.last_seen) == (last, T0 - 2 * TICK, last)


async def test_a_state_that_stops_breaching_is_written_with_its_last_breach(
    store: Store,
) -> None:
    [state] = [s for s in first_states().values() if dict(s.labels)["table"] == "breaching"]
    await store.commit(Commit(at=T0, group="database", states=(state,)))
    now = T0 + TICK
    after, transition = advance(state, CLEAR, POLICY, now)
    step = Step(evaluated=[RULE])
    step.record(state, after, transition)

    assert step.to_write({state.fingerprint: state}) == (after,)
    await store.commit(Commit(at=now, group="database", states=(after,), evaluated=(RULE,)))
    await store.commit(Commit(at=now + TICK, group="database", evaluated=(RULE,)))

    [loaded] = (await store.load()).values()
    assert (loaded.last_breach, loaded.last_eval) == (T0, now + TICK)


async def test_a_rule_evaluated_again_moves_only_its_own_states(store: Store) -> None:
    mine = next(iter(first_states().values()))
    other = dataclasses.replace(mine, fingerprint="other", rule="ApiResponseP95")
    await store.commit(Commit(at=T0, group="database", states=(mine, other)))
    later = T0 + TICK

    await store.commit(Commit(at=later, group="database", evaluated=(RULE,)))

    loaded = await store.load()
    assert loaded[mine.fingerprint].last_eval == later
    assert loaded["other"] == other
