"""One suite, every Store: what the engine may rely on whichever store the daemon runs."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from alertd.errors import StoreError
from alertd.model import (
    AlertSnapshot,
    AlertState,
    Change,
    Delivery,
    GroupState,
    Labels,
    Notification,
    OutboxEntry,
    SeriesPoint,
    Severity,
    SilenceRecord,
    Status,
    Transition,
    fingerprint,
)
from alertd.store.base import NOTHING_TO_RESOLVE, Commit, Pruned, Store
from alertd.store.memory import MemoryStore
from alertd.store.postgres import PostgresStore
from alertd.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
HISTORY = 5
LABELS: Labels = (("table", "users"), ("env", "prod"), ("note", 'é ✓ "quoted"'))
FP = fingerprint("SlowQueryP95", LABELS)
OTHER_FP = fingerprint("SlowQueryP95", (("table", "pitches"),))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(history_limit=HISTORY)
    elif request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = await PostgresStore.open(url, history_limit=HISTORY)
    else:
        opened = await SqliteStore.open(tmp_path / "alertd.db", history_limit=HISTORY)
    yield opened
    await opened.aclose()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def firing(fp: str = FP, *, value: float | None = 212.345678901234) -> AlertState:
    return AlertState(
        fingerprint=fp,
        rule="SlowQueryP95",
        labels=LABELS,
        status=Status.FIRING,
        severity=Severity.CRITICAL,
        active_since=at(0),
        firing_since=at(60.000001),
        last_breach=at(90.5),
        last_seen=at(90.5),
        last_eval=at(90.5),
        value=value,
        samples=1234,
    )


def transition(when: dt.datetime, fp: str = FP, reason: str = "") -> Transition:
    return Transition(
        at=when,
        fingerprint=fp,
        rule="SlowQueryP95",
        labels=LABELS,
        change=Change.FIRING,
        previous=Status.PENDING,
        status=Status.FIRING,
        severity=Severity.CRITICAL,
        previous_severity=None,
        value=212.5,
        threshold="> 200",
        reason=reason,
    )


def point(when: dt.datetime, value: float | None = 1.5, fp: str = FP) -> SeriesPoint:
    return SeriesPoint(fingerprint=fp, at=when, value=value, samples=7)


async def test_alert_state_with_every_field_set_round_trips(store: Store) -> None:
    state = firing()
    await store.commit(Commit(at=at(90.5), group="database", states=(state,)))

    assert await store.load() == {FP: state}


async def test_alert_state_with_none_fields_round_trips(store: Store) -> None:
    state = AlertState(fingerprint=FP, rule="SlowQueryP95", labels=(), status=Status.INACTIVE)
    await store.commit(Commit(at=T0, group="database", states=(state,)))

    assert await store.load() == {FP: state}


async def test_pending_state_keeps_its_for_clock_to_the_microsecond(store: Store) -> None:
    state = AlertState(
        fingerprint=FP,
        rule="SlowQueryP95",
        labels=LABELS,
        status=Status.PENDING,
        severity=Severity.WARNING,
        active_since=at(0.000001),
        last_breach=at(30.999999),
        value=151.0,
        samples=20,
    )
    await store.commit(Commit(at=at(31), group="database", states=(state,)))

    loaded = (await store.load())[FP]
    assert loaded.active_since == at(0.000001)
    assert loaded.last_breach == at(30.999999)
    assert loaded == state


async def test_times_in_other_zones_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    state = firing()
    local = replace(
        state,
        active_since=at(0).astimezone(zone),
        firing_since=at(60.000001).astimezone(zone),
        last_eval=at(90.5).astimezone(dt.timezone.min),
    )
    await store.commit(
        Commit(
            at=T0.astimezone(zone),
            group="database",
            states=(local,),
            transitions=(transition(T0.astimezone(zone)),),
            points=(point(T0.astimezone(zone)),),
        )
    )

    loaded = (await store.load())[FP]
    assert loaded == state
    times = (loaded.active_since, loaded.firing_since, loaded.last_eval)
    assert [t.tzinfo if t else None for t in times] == [UTC, UTC, UTC]
    assert [t.at.tzinfo for t in await store.transitions()] == [UTC]
    assert [p.at.tzinfo for p in await store.history(FP)] == [UTC]


@pytest.mark.parametrize("value", [math.inf, -math.inf, 0.0, -1e308, 5e-324])
async def test_extreme_values_round_trip(store: Store, value: float) -> None:
    await store.commit(
        Commit(
            at=T0,
            group="database",
            states=(firing(value=value),),
            points=(point(T0, value),),
        )
    )

    assert (await store.load())[FP].value == value
    assert [p.value for p in await store.history(FP)] == [value]


async def test_nan_values_stay_nan_not_none(store: Store) -> None:
    nan_transition = replace(transition(T0), value=math.nan)
    await store.commit(
        Commit(
            at=T0,
            group="database",
            states=(firing(value=math.nan),),
            transitions=(nan_transition,),
            points=(point(T0, math.nan),),
        )
    )

    state_value = (await store.load())[FP].value
    [stored_transition] = await store.transitions()
    [stored_point] = await store.history(FP)
    for value in (state_value, stored_transition.value, stored_point.value):
        assert value is not None
        assert math.isnan(value)


async def test_texts_holding_nul_and_backslashes_round_trip(store: Store) -> None:
    # PostgreSQL text cannot hold NUL: that store escapes such texts, and only those.
    labels = (("table", "a\x00b"), ("path", "C:\\0\\x"))
    state = replace(firing("fp\x00\\0"), rule="Rule\x00", labels=labels)
    await store.commit(Commit(at=T0, group="g\x00", states=(state,)))

    assert await store.load() == {state.fingerprint: state}


async def test_upsert_replaces_the_state_with_the_same_fingerprint(store: Store) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(value=201.0),)))
    replacement = firing(value=250.0)

    await store.commit(Commit(at=at(30), group="database", states=(replacement,)))

    assert await store.load() == {FP: replacement}


async def test_removed_deletes_only_the_named_states(store: Store) -> None:
    kept = firing(OTHER_FP)
    await store.commit(Commit(at=T0, group="database", states=(firing(), kept)))

    await store.commit(Commit(at=at(30), group="database", removed=(FP, "never-stored")))

    assert await store.load() == {OTHER_FP: kept}


async def test_a_fingerprint_both_upserted_and_removed_ends_removed(store: Store) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(),), removed=(FP,)))

    assert await store.load() == {}


async def test_transitions_come_back_oldest_first_in_commit_order(store: Store) -> None:
    await store.commit(
        Commit(
            at=at(60),
            group="database",
            transitions=(transition(at(60), reason="a"), transition(at(60), reason="b")),
        )
    )
    # A group that ticked earlier may commit later; time still orders the result.
    await store.commit(
        Commit(at=at(30), group="api", transitions=(transition(at(30), reason="early"),))
    )
    await store.commit(
        Commit(at=at(60), group="api", transitions=(transition(at(60), reason="c"),))
    )

    assert [t.reason for t in await store.transitions()] == ["early", "a", "b", "c"]


async def test_stored_transitions_equal_what_was_committed(store: Store) -> None:
    sent = (
        transition(at(0)),
        Transition(
            at=at(1),
            fingerprint=FP,
            rule="SlowQueryP95",
            labels=LABELS,
            change=Change.RESOLVED,
            previous=Status.FIRING,
            status=Status.INACTIVE,
            severity=None,
            previous_severity=Severity.WARNING,
            value=None,
        ),
    )
    await store.commit(Commit(at=at(1), group="database", transitions=sent))

    assert tuple(await store.transitions()) == sent


async def test_transitions_since_includes_that_instant(store: Store) -> None:
    sent = tuple(transition(at(30 * i), reason=str(i)) for i in range(4))
    await store.commit(Commit(at=at(90), group="database", transitions=sent))

    assert [t.reason for t in await store.transitions(since=at(30))] == ["1", "2", "3"]
    assert [t.reason for t in await store.transitions(since=at(30.000001))] == ["2", "3"]
    assert await store.transitions(since=at(91)) == []


async def test_transitions_limit_keeps_the_newest_oldest_first(store: Store) -> None:
    sent = tuple(transition(at(30 * i), reason=str(i)) for i in range(6))
    await store.commit(Commit(at=at(150), group="database", transitions=sent))

    assert [t.reason for t in await store.transitions(limit=2)] == ["4", "5"]
    assert [t.reason for t in await store.transitions(since=at(30), limit=3)] == ["3", "4", "5"]
    assert await store.transitions(limit=0) == []


async def test_history_keeps_the_newest_points_oldest_first(store: Store) -> None:
    for i in range(HISTORY + 3):
        await store.commit(Commit(at=at(30 * i), group="database", points=(point(at(30 * i), i),)))

    history = await store.history(FP)
    assert [p.value for p in history] == [3, 4, 5, 6, 7]
    assert [p.at for p in history] == [at(30 * i) for i in range(3, 8)]
    assert [p.value for p in await store.history(FP, limit=2)] == [6, 7]
    assert await store.history(FP, limit=0) == []


async def test_history_is_bounded_within_one_commit_and_per_series(store: Store) -> None:
    many = tuple(point(at(i), i) for i in range(HISTORY * 2))
    await store.commit(
        Commit(at=at(10), group="database", points=(*many, point(at(0), 99.0, OTHER_FP)))
    )

    assert [p.value for p in await store.history(FP)] == [5, 6, 7, 8, 9]
    assert await store.history(OTHER_FP) == [point(at(0), 99.0, OTHER_FP)]
    assert await store.history("no-such-series") == []


async def test_a_point_at_the_same_time_replaces_the_earlier_one(store: Store) -> None:
    await store.commit(Commit(at=T0, group="database", points=(point(T0, 1.0),)))
    await store.commit(Commit(at=T0, group="database", points=(point(T0, None),)))

    assert await store.history(FP) == [point(T0, None)]


async def test_points_arriving_out_of_order_come_back_in_time_order(store: Store) -> None:
    await store.commit(Commit(at=at(60), group="database", points=(point(at(60), 2.0),)))
    await store.commit(Commit(at=at(0), group="database", points=(point(at(0), 0.0),)))
    await store.commit(Commit(at=at(30), group="database", points=(point(at(30), 1.0),)))

    assert [p.value for p in await store.history(FP)] == [0.0, 1.0, 2.0]


async def test_a_commit_that_fails_midway_leaves_nothing_behind(store: Store) -> None:
    before = firing(OTHER_FP)
    await store.commit(
        Commit(
            at=T0,
            group="database",
            states=(before,),
            transitions=(transition(T0),),
            points=(point(T0),),
        )
    )

    # Everything is valid except the last transition's naive time, which no store can keep.
    broken = Commit(
        at=at(30),
        group="database",
        states=(firing(),),
        removed=(OTHER_FP,),
        transitions=(transition(at(30)), transition(at(30).replace(tzinfo=None))),
        points=(point(at(30)),),
    )
    with pytest.raises(StoreError, match="naive"):
        await store.commit(broken)

    assert await store.load() == {OTHER_FP: before}
    assert await store.transitions() == [transition(T0)]
    assert await store.history(FP) == [point(T0)]


async def test_an_empty_commit_changes_nothing(store: Store) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(),)))

    await store.commit(Commit(at=at(30), group="database"))

    assert await store.load() == {FP: firing()}
    assert await store.transitions() == []


async def test_an_empty_store_reads_empty(store: Store) -> None:
    assert await store.load() == {}
    assert await store.transitions() == []
    assert await store.history(FP) == []


async def test_a_naive_since_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="naive"):
        await store.transitions(since=T0.replace(tzinfo=None))


async def test_a_negative_limit_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.history(FP, limit=-1)
    with pytest.raises(ValueError, match="limit"):
        await store.transitions(limit=-1)


zones = st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=-7)), dt.timezone.min])
instants = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=zones
)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=10)
states = st.builds(
    AlertState,
    fingerprint=texts,
    rule=texts,
    labels=st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
    status=st.sampled_from(Status),
    severity=st.none() | st.sampled_from(Severity),
    active_since=st.none() | instants,
    firing_since=st.none() | instants,
    last_breach=st.none() | instants,
    last_seen=st.none() | instants,
    last_eval=st.none() | instants,
    value=st.none() | st.floats(allow_nan=False),
    samples=st.integers(min_value=0, max_value=2**63 - 1),
)


# The store is shared by the examples on purpose: each writes and then reads its own state.
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(state=states)
async def test_any_alert_state_round_trips(store: Store, state: AlertState) -> None:
    await store.commit(Commit(at=T0, group="g", states=(state,)))

    assert (await store.load())[state.fingerprint] == state


def snapshot(
    fp: str = FP, *, value: float | None = 212.5, ends_at: dt.datetime | None = None
) -> AlertSnapshot:
    return AlertSnapshot(
        fingerprint=fp,
        rule="SlowQueryP95",
        labels=LABELS,
        firing=ends_at is None,
        severity=Severity.CRITICAL,
        value=value,
        threshold="> 200",
        # Not in sorted order: receivers show annotations in the order the rule wrote them.
        annotations={"summary": "P95 on users is 212 ms ✓", "runbook": 'https://x/"db"'},
        starts_at=at(60.000001),
        ends_at=ends_at,
    )


def group_state(key: str = "slack/{table=users}", **changes: Any) -> GroupState:
    group = GroupState(
        key=key,
        receiver="slack",
        group_labels=(("table", "users"),),
        first_seen=at(0.5),
        last_flush=at(30.000001),
        notified=(snapshot(), snapshot(OTHER_FP, value=None)),
    )
    return replace(group, **changes)


def entry(
    notification_id: str,
    *,
    group_key: str = "slack/{table=users}",
    receiver: str = "slack",
    created: float = 0,
    next_attempt: float | None = None,
    firing: bool = True,
) -> OutboxEntry:
    notification = Notification(
        id=notification_id,
        receiver=receiver,
        group_key=group_key,
        group_labels=(("table", "users"),),
        firing=firing,
        alerts=(snapshot() if firing else snapshot(ends_at=at(created)),),
        created_at=at(created),
    )
    return OutboxEntry(
        notification=notification,
        expires_at=at(created + 3600),
        next_attempt_at=at(created if next_attempt is None else next_attempt),
    )


def replace_alerts(queued: OutboxEntry, *alerts: AlertSnapshot) -> OutboxEntry:
    return replace(queued, notification=replace(queued.notification, alerts=alerts))


def enqueue(*entries: OutboxEntry) -> Commit:
    return Commit(at=T0, group="notify", outbox=entries)


def ids(entries: list[OutboxEntry]) -> list[str]:
    return [e.id for e in entries]


def silence(silence_id: str, starts: float, ends: float) -> SilenceRecord:
    return SilenceRecord(
        id=silence_id,
        matchers=('team="db"', 'table=~"users|pitches"'),
        starts_at=at(starts),
        ends_at=at(ends),
        created_by="ana@example.com",
        comment="migration, é ✓",
    )


async def test_a_group_with_every_field_set_round_trips(store: Store) -> None:
    group = group_state()
    await store.commit(Commit(at=T0, group="notify", groups=(group,)))

    [loaded] = (await store.load_groups()).values()
    assert loaded == group
    assert list(loaded.notified[0].annotations) == ["summary", "runbook"]


async def test_a_new_group_with_defaults_round_trips(store: Store) -> None:
    group = GroupState(key="k", receiver="console", group_labels=(), first_seen=T0)
    await store.commit(Commit(at=T0, group="notify", groups=(group,)))

    assert await store.load_groups() == {"k": group}


async def test_groups_are_upserted_by_key_and_dropped_by_key(store: Store) -> None:
    kept, dropped = group_state("a"), group_state("b")
    await store.commit(Commit(at=T0, group="notify", groups=(kept, dropped)))
    flushed = group_state("a", last_flush=at(300), notified=())

    await store.commit(
        Commit(at=at(300), group="notify", groups=(flushed,), dropped_groups=("b", "never"))
    )

    assert await store.load_groups() == {"a": flushed}


async def test_a_group_both_upserted_and_dropped_ends_dropped(store: Store) -> None:
    group = group_state()
    await store.commit(Commit(at=T0, group="notify", groups=(group,), dropped_groups=(group.key,)))

    assert await store.load_groups() == {}


@pytest.mark.parametrize("value", [math.inf, -math.inf, -0.0, 5e-324, None])
async def test_snapshot_values_json_cannot_write_as_numbers_round_trip(
    store: Store, value: float | None
) -> None:
    group = group_state(notified=(snapshot(value=value),))
    await store.commit(Commit(at=T0, group="notify", groups=(group,)))

    assert await store.load_groups() == {group.key: group}


async def test_a_nan_snapshot_value_stays_nan(store: Store) -> None:
    await store.commit(enqueue(replace_alerts(entry("n1"), snapshot(value=math.nan))))

    [stored] = await store.outbox()
    value = stored.notification.alerts[0].value
    assert value is not None
    assert math.isnan(value)


async def test_an_outbox_entry_with_every_field_set_round_trips(store: Store) -> None:
    queued = replace(
        replace_alerts(entry("n1"), snapshot(), snapshot(OTHER_FP, ends_at=at(90))),
        attempts=2,
        last_error="503 from Slack",
        finished_at=at(120.5),
        ref="1712345678.000100",
        status=Delivery.DELIVERED,
    )
    queued = replace(
        queued,
        notification=replace(queued.notification, status_url="https://alertd/a?b=1", test=True),
    )
    await store.commit(enqueue(queued))

    assert await store.outbox() == [queued]


async def test_enqueueing_an_id_again_changes_nothing(store: Store) -> None:
    first = entry("n1")
    await store.commit(enqueue(first, replace(entry("n1", created=5), attempts=9)))
    delivered = replace(first, status=Delivery.DELIVERED, attempts=1, finished_at=at(1))
    await store.record(delivered)

    # The step that enqueued it is redone after a crash, with a fresh copy.
    await store.commit(enqueue(entry("n1")))

    assert await store.outbox() == [delivered]


async def test_a_commit_with_only_notification_parts_needs_no_states(store: Store) -> None:
    await store.commit(
        Commit(at=T0, group="notify", groups=(group_state(),), outbox=(entry("n1"),))
    )

    assert await store.load() == {}
    assert list(await store.load_groups()) == [group_state().key]
    assert ids(await store.outbox()) == ["n1"]


async def test_due_gives_the_receivers_pending_entries_oldest_first(store: Store) -> None:
    await store.commit(
        enqueue(
            entry("late", group_key="c", created=20),
            entry("early", group_key="a", created=10),
            entry("other-receiver", group_key="a", receiver="pagerduty", created=0),
            entry("at-now", group_key="b", created=15, next_attempt=30),
            entry("backing-off", group_key="d", created=1, next_attempt=30.000001),
        )
    )

    assert ids(await store.due("slack", at(30))) == ["early", "at-now", "late"]
    assert ids(await store.due("slack", at(30), limit=2)) == ["early", "at-now"]
    assert await store.due("slack", at(30), limit=0) == []
    assert ids(await store.due("pagerduty", at(30))) == ["other-receiver"]
    assert await store.due("teams", at(30)) == []


def statuses(entries: list[OutboxEntry]) -> dict[str, tuple[Delivery, str | None]]:
    return {e.id: (e.status, e.last_error) for e in entries}


async def test_a_resolve_of_a_trigger_never_sent_supersedes_both(store: Store) -> None:
    # A storm in miniature: the trigger waits behind the rate limit, the alert resolves.
    await store.commit(enqueue(entry("trigger")))
    await store.commit(enqueue(entry("resolve", created=60, firing=False)))

    assert await store.due("slack", at(60)) == []
    assert statuses(await store.outbox()) == {
        "trigger": (Delivery.SUPERSEDED, "superseded by resolve"),
        "resolve": (Delivery.SUPERSEDED, NOTHING_TO_RESOLVE),
    }
    [superseded, _] = await store.outbox()
    assert superseded.finished_at == at(60)
    assert not await store.is_pending("trigger")


async def test_a_resolve_after_a_delivered_trigger_goes_and_queued_updates_do_not(
    store: Store,
) -> None:
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    await store.record(replace(trigger, status=Delivery.DELIVERED, attempts=1, ref="ts-1"))
    await store.commit(enqueue(entry("update-1", created=10), entry("update-2", created=20)))
    await store.commit(enqueue(entry("resolve", created=30, firing=False)))

    assert ids(await store.due("slack", at(30))) == ["resolve"]
    assert statuses(await store.outbox()) == {
        "trigger": (Delivery.DELIVERED, None),
        "update-1": (Delivery.SUPERSEDED, "superseded by update-2"),
        "update-2": (Delivery.SUPERSEDED, "superseded by resolve"),
        "resolve": (Delivery.PENDING, None),
    }
    # Slack's bot finds the message to update; PagerDuty's dedup_key needs no ref.
    assert await store.last_ref("slack", "slack/{table=users}") == "ts-1"
    assert await store.is_pending("resolve")
    assert not await store.is_pending("update-2")
    assert not await store.is_pending("never-enqueued")


async def test_of_several_queued_updates_only_the_latest_goes(store: Store) -> None:
    await store.commit(enqueue(entry("trigger"), entry("update-1", created=10)))
    await store.commit(enqueue(entry("update-2", created=20)))

    assert ids(await store.due("slack", at(20))) == ["update-2"]
    assert [e.status for e in await store.outbox()] == [
        Delivery.SUPERSEDED,
        Delivery.SUPERSEDED,
        Delivery.PENDING,
    ]


async def test_a_resolve_after_a_trigger_that_may_have_arrived_goes(store: Store) -> None:
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    # It timed out: the service may have it, so its resolve must follow.
    await store.record(replace(trigger, attempts=1, last_error="timeout", next_attempt_at=at(30)))
    await store.commit(enqueue(entry("resolve", created=10, firing=False)))

    assert ids(await store.due("slack", at(10))) == ["resolve"]
    assert [e.status for e in await store.outbox()] == [Delivery.SUPERSEDED, Delivery.PENDING]


async def test_a_resolve_that_may_not_have_arrived_still_leaves_the_trigger_to_resolve(
    store: Store,
) -> None:
    # A storm against a rate-limited PagerDuty: the first resolve met a 429, the alert
    # fired again and resolved again before that trigger's turn came. The incident the
    # first trigger opened is still open: the last resolve must go.
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    await store.record(replace(trigger, status=Delivery.DELIVERED, attempts=1, finished_at=at(1)))
    first_resolve = entry("resolve-1", created=10, firing=False)
    await store.commit(enqueue(first_resolve))
    await store.record(
        replace(first_resolve, attempts=1, last_error="HTTP 429", next_attempt_at=at(70))
    )
    await store.commit(enqueue(entry("trigger-2", created=20)))
    await store.commit(enqueue(entry("resolve-2", created=30, firing=False)))

    assert ids(await store.due("slack", at(30))) == ["resolve-2"]


async def test_a_refused_trigger_needs_no_resolve(store: Store) -> None:
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    await store.record(replace(trigger, status=Delivery.FAILED, attempts=1, finished_at=at(1)))
    await store.commit(enqueue(entry("resolve", created=10, firing=False)))

    assert await store.due("slack", at(10)) == []


async def test_a_new_incident_resolved_before_it_is_sent_is_not_sent(store: Store) -> None:
    first, resolve = entry("first"), entry("first-resolve", created=10, firing=False)
    for done in (first, resolve):
        await store.commit(enqueue(done))
        await store.record(replace(done, status=Delivery.DELIVERED, attempts=1))
    await store.commit(enqueue(entry("second", created=20)))
    await store.commit(enqueue(entry("second-resolve", created=30, firing=False)))

    assert await store.due("slack", at(30)) == []


async def test_superseding_keeps_to_its_receiver_and_group(store: Store) -> None:
    await store.commit(
        enqueue(
            entry("other-group", group_key="other"),
            entry("other-receiver", receiver="pagerduty"),
            entry("trigger"),
        )
    )
    await store.commit(enqueue(entry("resolve", created=10, firing=False)))

    assert ids(await store.due("slack", at(10))) == ["other-group"]
    assert ids(await store.due("pagerduty", at(10))) == ["other-receiver"]


async def test_a_trigger_sent_while_it_was_superseded_brings_its_resolve_back(
    store: Store,
) -> None:
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    # The resolve is enqueued while the trigger's send is in flight.
    await store.commit(enqueue(entry("resolve", created=10, firing=False)))
    assert await store.due("slack", at(10)) == []

    await store.record(replace(trigger, status=Delivery.DELIVERED, attempts=1, ref="ts-1"))

    assert ids(await store.due("slack", at(10))) == ["resolve"]
    assert statuses(await store.outbox())["trigger"] == (Delivery.DELIVERED, None)


async def test_a_retry_outcome_keeps_a_superseded_entry_superseded(store: Store) -> None:
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    await store.commit(enqueue(entry("resolve", created=10, firing=False)))

    await store.record(replace(trigger, attempts=1, last_error="timeout", next_attempt_at=at(40)))

    [stored, resolve] = await store.outbox()
    assert (stored.status, stored.attempts) == (Delivery.SUPERSEDED, 1)
    assert ids(await store.due("slack", at(40))) == ["resolve"]  # the timeout may have arrived
    assert resolve.status is Delivery.PENDING


async def test_entries_created_at_the_same_time_keep_commit_order(store: Store) -> None:
    await store.commit(enqueue(entry("b1", group_key="b"), entry("a1", group_key="a")))
    await store.commit(enqueue(entry("d1", group_key="d"), entry("c1", group_key="c")))

    assert ids(await store.due("slack", T0)) == ["b1", "a1", "d1", "c1"]
    assert ids(await store.outbox()) == ["b1", "a1", "d1", "c1"]


async def test_a_retry_outcome_is_stored_and_moves_the_next_attempt(store: Store) -> None:
    queued = entry("n1")
    await store.commit(enqueue(queued))
    retry = replace(queued, attempts=1, last_error="429 slow down", next_attempt_at=at(30))

    await store.record(retry)

    assert await store.outbox() == [retry]
    assert await store.due("slack", at(29.999999)) == []
    assert await store.due("slack", at(30)) == [retry]


async def test_record_changes_only_the_outcome_of_an_entry(store: Store) -> None:
    queued = entry("n1")
    await store.commit(enqueue(queued))
    outcome = replace(queued, status=Delivery.DELIVERED, attempts=1, finished_at=at(2), ref="ts-1")

    await store.record(
        replace(outcome, expires_at=at(9), notification=entry("n1", created=5).notification)
    )

    assert await store.outbox() == [outcome]


async def test_recording_an_unknown_entry_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="no-such-id"):
        await store.record(entry("no-such-id"))


async def test_outbox_lists_the_newest_last_by_status_and_limit(store: Store) -> None:
    await store.commit(enqueue(*(entry(f"n{i}", group_key=str(i), created=i) for i in range(4))))
    await store.record(replace(entry("n1", group_key="1", created=1), status=Delivery.FAILED))

    assert ids(await store.outbox()) == ["n0", "n1", "n2", "n3"]
    assert ids(await store.outbox(limit=2)) == ["n2", "n3"]
    assert ids(await store.outbox(status=Delivery.PENDING)) == ["n0", "n2", "n3"]
    assert ids(await store.outbox(status=Delivery.PENDING, limit=1)) == ["n3"]
    assert ids(await store.outbox(status=Delivery.FAILED)) == ["n1"]
    assert await store.outbox(status=Delivery.EXPIRED) == []
    assert await store.outbox(limit=0) == []


async def test_last_ref_is_the_newest_delivered_ref_of_that_receiver_and_group(
    store: Store,
) -> None:
    sent = [
        entry("first", created=0),
        entry("second", created=10),
        entry("no-ref", created=20),
        entry("failed", created=30),
        entry("other-group", group_key="other", created=40),
        entry("other-receiver", receiver="teams", created=50),
    ]
    await store.commit(enqueue(*sent))
    assert await store.last_ref("slack", "slack/{table=users}") is None

    outcomes = {
        "first": (Delivery.DELIVERED, "ts-1"),
        "second": (Delivery.DELIVERED, "ts-2"),
        "no-ref": (Delivery.DELIVERED, None),
        "failed": (Delivery.FAILED, "ts-failed"),
        "other-group": (Delivery.DELIVERED, "ts-other-group"),
        "other-receiver": (Delivery.DELIVERED, "ts-teams"),
    }
    for queued in sent:
        status, ref = outcomes[queued.id]
        await store.record(replace(queued, status=status, ref=ref, finished_at=at(60)))

    assert await store.last_ref("slack", "slack/{table=users}") == "ts-2"
    assert await store.last_ref("slack", "other") == "ts-other-group"
    assert await store.last_ref("teams", "slack/{table=users}") == "ts-teams"
    assert await store.last_ref("slack", "never") is None


async def test_a_resolve_does_not_find_the_message_of_an_incident_already_resolved(
    store: Store,
) -> None:
    # Slack's bot: the first incident's message was edited to resolved. The second
    # trigger timed out (it may have been posted, its ts unknown) and was superseded by
    # its resolve, which must not edit the first incident's message again.
    for done, firing in (("trigger-1", True), ("resolve-1", False)):
        queued = entry(done, created=0 if firing else 10, firing=firing)
        await store.commit(enqueue(queued))
        await store.record(
            replace(
                queued, status=Delivery.DELIVERED, attempts=1, ref="C1:ts-1", finished_at=at(10)
            )
        )
    trigger = entry("trigger-2", created=20)
    await store.commit(enqueue(trigger))
    await store.record(replace(trigger, attempts=1, last_error="timeout", next_attempt_at=at(40)))
    await store.commit(enqueue(entry("resolve-2", created=30, firing=False)))

    assert ids(await store.due("slack", at(30))) == ["resolve-2"]
    assert await store.last_ref("slack", "slack/{table=users}") is None


async def test_prune_drops_history_older_than_the_cut_and_keeps_what_is_live(
    store: Store,
) -> None:
    await store.commit(
        Commit(
            at=T0,
            group="database",
            transitions=(transition(at(0)), transition(at(100), reason="late")),
            points=(point(at(0)), point(at(100)), point(at(0), fp=OTHER_FP)),
        )
    )
    queued = [
        entry("old-ref", created=0),
        entry("newest-ref", created=10),
        entry("old-failed", group_key="other", created=0),
        entry("recent", group_key="third", created=90),
        entry("pending", group_key="fourth", created=0),
        entry("old-ref-elsewhere", group_key="fifth", created=0),
    ]
    await store.commit(enqueue(*queued))
    finished = {
        "old-ref": (Delivery.DELIVERED, "ts-1", 5),
        "newest-ref": (Delivery.DELIVERED, "ts-2", 15),
        "old-failed": (Delivery.FAILED, None, 5),
        "recent": (Delivery.DELIVERED, None, 95),
        "old-ref-elsewhere": (Delivery.DELIVERED, "ts-5", 5),
    }
    for one in queued:
        if one.id in finished:
            status, ref, when = finished[one.id]
            await store.record(replace(one, status=status, ref=ref, finished_at=at(when)))
    await store.add_silence(silence("ended", 0, 10))
    await store.add_silence(silence("ends-later", 0, 200))

    pruned = await store.prune(at(50))

    assert pruned == Pruned(transitions=1, points=2, outbox=2, silences=1)
    assert [t.reason for t in await store.transitions()] == ["late"]
    assert [p.at for p in await store.history(FP)] == [at(100)]
    assert await store.history(OTHER_FP) == []
    # A resolve still finds the message it updates, however long the alert has fired.
    assert ids(await store.outbox()) == ["pending", "old-ref-elsewhere", "newest-ref", "recent"]
    assert await store.last_ref("slack", "slack/{table=users}") == "ts-2"
    assert await store.last_ref("slack", "fifth") == "ts-5"
    assert [s.id for s in await store.silences()] == ["ends-later"]
    assert await store.prune(at(50)) == Pruned()


async def test_a_resolve_still_goes_after_its_trigger_without_a_ref_was_pruned(
    store: Store,
) -> None:
    # Teams and webhooks keep no ref: a trigger delivered before a silence (or a
    # repeat_interval) longer than the retention must still be resolved afterwards.
    trigger = entry("trigger")
    await store.commit(enqueue(trigger))
    await store.record(replace(trigger, status=Delivery.DELIVERED, attempts=1, finished_at=at(5)))
    refused = entry("refused", group_key="refused")
    await store.commit(enqueue(refused))
    await store.record(replace(refused, status=Delivery.FAILED, attempts=1, finished_at=at(5)))

    pruned = await store.prune(at(50))
    await store.commit(enqueue(entry("resolve", created=60, firing=False)))

    assert pruned.outbox == 1
    assert ids(await store.due("slack", at(60))) == ["resolve"]


async def test_a_tick_with_its_notifications_fails_whole(store: Store) -> None:
    before = Commit(
        at=T0,
        group="database",
        states=(firing(OTHER_FP),),
        transitions=(transition(T0),),
        groups=(group_state("kept"),),
        outbox=(entry("n0"),),
    )
    await store.commit(before)

    # Everything is valid except the last outbox entry's naive expiry.
    naive = replace(entry("n2", group_key="x"), expires_at=at(3600).replace(tzinfo=None))
    with pytest.raises(StoreError, match="naive"):
        await store.commit(
            Commit(
                at=at(30),
                group="database",
                states=(firing(),),
                removed=(OTHER_FP,),
                transitions=(transition(at(30)),),
                groups=(group_state("new"),),
                dropped_groups=("kept",),
                outbox=(entry("n1", group_key="y"), naive),
            )
        )

    assert await store.load() == {OTHER_FP: firing(OTHER_FP)}
    assert await store.transitions() == [transition(T0)]
    assert await store.load_groups() == {"kept": group_state("kept")}
    assert await store.outbox() == [entry("n0")]


async def test_naive_times_are_refused_everywhere_a_time_goes_in(store: Store) -> None:
    naive = T0.replace(tzinfo=None)
    await store.commit(enqueue(entry("n1")))

    with pytest.raises(StoreError, match="naive"):
        await store.commit(Commit(at=T0, group="notify", groups=(group_state(first_seen=naive),)))
    with pytest.raises(StoreError, match="naive"):
        await store.due("slack", naive)
    with pytest.raises(StoreError, match="naive"):
        await store.record(replace(entry("n1"), finished_at=naive))
    with pytest.raises(StoreError, match="naive"):
        await store.add_silence(replace(silence("s1", 0, 60), ends_at=naive))
    with pytest.raises(StoreError, match="naive"):
        await store.silences(active_at=naive)
    with pytest.raises(StoreError, match="naive"):
        await store.expire_silence("s1", naive)
    assert await store.load_groups() == {}
    assert await store.outbox() == [entry("n1")]
    assert await store.silences() == []


async def test_times_in_other_zones_come_back_as_the_same_instants_in_utc(store: Store) -> None:
    zone = dt.timezone(dt.timedelta(hours=-7))
    queued = entry("n1")
    local = replace(
        replace_alerts(queued, replace(snapshot(), starts_at=at(60.000001).astimezone(zone))),
        expires_at=queued.expires_at.astimezone(zone),
    )
    await store.commit(enqueue(local))
    await store.add_silence(replace(silence("s1", 0, 60), starts_at=at(0).astimezone(zone)))

    [stored] = await store.outbox()
    assert stored == queued
    assert stored.expires_at.tzinfo is UTC
    assert stored.notification.alerts[0].starts_at.tzinfo is UTC
    assert [s.starts_at.tzinfo for s in await store.silences()] == [UTC]


async def test_silences_are_listed_by_start_and_filtered_by_activity(store: Store) -> None:
    await store.add_silence(silence("later", 60, 120))
    await store.add_silence(silence("b-now", 0, 60))
    await store.add_silence(silence("a-now", 0, 30))

    assert [s.id for s in await store.silences()] == ["a-now", "b-now", "later"]
    assert await store.silences() == [
        silence("a-now", 0, 30),
        silence("b-now", 0, 60),
        silence("later", 60, 120),
    ]
    # The start is included and the end is not.
    assert [s.id for s in await store.silences(active_at=at(0))] == ["a-now", "b-now"]
    assert [s.id for s in await store.silences(active_at=at(30))] == ["b-now"]
    assert [s.id for s in await store.silences(active_at=at(60))] == ["later"]
    assert await store.silences(active_at=at(120)) == []
    assert await store.silences(active_at=at(-0.000001)) == []


async def test_adding_a_silence_with_a_known_id_replaces_it(store: Store) -> None:
    await store.add_silence(silence("s1", 0, 60))
    edited = replace(silence("s1", 0, 600), comment="longer migration")

    await store.add_silence(edited)

    assert await store.silences() == [edited]


async def test_expiring_an_active_silence_ends_it_then(store: Store) -> None:
    await store.add_silence(silence("s1", 0, 600))

    assert await store.expire_silence("s1", at(30)) is True

    assert await store.silences() == [silence("s1", 0, 30)]
    assert await store.silences(active_at=at(30)) == []


async def test_expiring_an_ended_silence_keeps_its_end(store: Store) -> None:
    await store.add_silence(silence("s1", 0, 60))

    assert await store.expire_silence("s1", at(90)) is True

    assert await store.silences() == [silence("s1", 0, 60)]


async def test_expiring_a_silence_before_it_starts_ends_it_unstarted(store: Store) -> None:
    await store.add_silence(silence("s1", 60, 600))

    assert await store.expire_silence("s1", at(30)) is True

    assert await store.silences() == [silence("s1", 30, 30)]
    assert await store.silences(active_at=at(60)) == []


async def test_expiring_an_unknown_silence_says_so(store: Store) -> None:
    assert await store.expire_silence("no-such-silence", T0) is False
    assert await store.silences() == []


async def test_an_empty_store_has_no_notification_state(store: Store) -> None:
    assert await store.load_groups() == {}
    assert await store.outbox() == []
    assert await store.due("slack", T0) == []
    assert await store.silences() == []


async def test_negative_notification_limits_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.due("slack", T0, limit=-1)
    with pytest.raises(ValueError, match="limit"):
        await store.outbox(limit=-1)


snapshots = st.builds(
    AlertSnapshot,
    fingerprint=texts,
    rule=texts,
    labels=st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
    firing=st.booleans(),
    severity=st.none() | st.sampled_from(Severity),
    value=st.none() | st.floats(allow_nan=False),
    threshold=st.none() | texts,
    annotations=st.dictionaries(texts, texts, max_size=3),
    starts_at=instants,
    ends_at=st.none() | instants,
)
groups = st.builds(
    GroupState,
    key=texts,
    receiver=texts,
    group_labels=st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
    first_seen=instants,
    last_flush=st.none() | instants,
    notified=st.lists(snapshots, max_size=3).map(tuple),
)
notifications = st.builds(
    Notification,
    id=texts,
    receiver=texts,
    group_key=texts,
    group_labels=st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
    firing=st.booleans(),
    alerts=st.lists(snapshots, max_size=3).map(tuple),
    created_at=instants,
    status_url=st.none() | texts,
    test=st.booleans(),
)
entries = st.builds(
    OutboxEntry,
    notification=notifications,
    expires_at=instants,
    next_attempt_at=instants,
    status=st.sampled_from(Delivery),
    attempts=st.integers(min_value=0, max_value=2**63 - 1),
    last_error=st.none() | texts,
    finished_at=st.none() | instants,
    ref=st.none() | texts,
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(group=groups)
async def test_any_group_round_trips(store: Store, group: GroupState) -> None:
    await store.commit(Commit(at=T0, group="notify", groups=(group,)))

    assert (await store.load_groups())[group.key] == group


example_ids = itertools.count()


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(queued=entries)
async def test_any_outbox_entry_round_trips(store: Store, queued: OutboxEntry) -> None:
    # A fresh id per example: an id already stored would be ignored. A fresh group with a
    # delivered trigger before it, so a pending resolve has something to resolve.
    fresh = f"example-{next(example_ids)}"
    queued = replace(queued, notification=replace(queued.notification, id=fresh, group_key=fresh))
    sent = replace(
        entry(f"{fresh}-sent", group_key=fresh, receiver=queued.notification.receiver),
        status=Delivery.DELIVERED,
    )
    await store.commit(enqueue(sent, queued))

    assert queued in await store.outbox(status=queued.status)


# What only the SQLite store adds: the notification state outlives the process.


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "alertd.db"


async def test_groups_outbox_and_silences_are_the_same_after_a_restart(db: Path) -> None:
    queued, delivered = entry("n2", created=10), entry("n1", created=0)
    first = await SqliteStore.open(db)
    await first.commit(
        Commit(at=T0, group="notify", groups=(group_state(),), outbox=(delivered, queued))
    )
    delivered = replace(delivered, status=Delivery.DELIVERED, attempts=1, ref="ts-1")
    await first.record(delivered)
    await first.add_silence(silence("s1", 0, 600))
    await first.expire_silence("s1", at(300))
    await first.aclose()

    second = await SqliteStore.open(db)
    try:
        assert await second.load_groups() == {group_state().key: group_state()}
        assert await second.outbox() == [delivered, queued]
        assert await second.due("slack", at(10)) == [queued]
        assert await second.last_ref("slack", queued.notification.group_key) == "ts-1"
        assert await second.silences() == [silence("s1", 0, 300)]
    finally:
        await second.aclose()


async def test_a_failure_while_enqueueing_rolls_the_whole_tick_back(db: Path) -> None:
    store = await SqliteStore.open(db)
    try:
        await store.commit(Commit(at=T0, group="database", groups=(group_state("kept"),)))
        # A real failure inside the transaction, after everything but the outbox was written.
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON outbox"
                " BEGIN SELECT RAISE(ABORT, 'disk said no'); END"
            )

        with pytest.raises(StoreError, match="disk said no"):
            await store.commit(
                Commit(
                    at=at(30),
                    group="database",
                    states=(firing(),),
                    transitions=(transition(at(30)),),
                    points=(point(at(30)),),
                    groups=(group_state("new"),),
                    dropped_groups=("kept",),
                    outbox=(entry("n1"),),
                )
            )

        assert await store.load() == {}
        assert await store.transitions() == []
        assert await store.history(FP) == []
        assert await store.load_groups() == {"kept": group_state("kept")}
        assert await store.outbox() == []
    finally:
        await store.aclose()


async def test_a_file_from_before_the_outbox_is_migrated_keeping_its_alerts(db: Path) -> None:
    first = await SqliteStore.open(db)
    await first.commit(Commit(at=T0, group="database", states=(firing(),)))
    await first.aclose()
    # Undo the second step, leaving the file as the first schema wrote it.
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        for table in ("notify_groups", "outbox", "silences"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_version WHERE version > 1")

    second = await SqliteStore.open(db)
    try:
        assert await second.load() == {FP: firing()}
        await second.commit(enqueue(entry("n1")))
        assert ids(await second.outbox()) == ["n1"]
    finally:
        await second.aclose()


@pytest.mark.parametrize(
    ("column", "damage"),
    [
        ("notification", "{not json"),
        ("notification", '{"id": "bad"}'),
        ("expires_at", "the day after tomorrow"),
    ],
)
async def test_an_unreadable_pending_row_is_set_aside_and_the_rest_stay_due(
    db: Path, column: str, damage: str
) -> None:
    store = await SqliteStore.open(db)
    try:
        await store.commit(
            enqueue(entry("before", group_key="a"), entry("bad", group_key="b", created=1))
        )
        await store.commit(enqueue(entry("after", group_key="c", created=2)))
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute(f"UPDATE outbox SET {column} = ? WHERE id = 'bad'", (damage,))

        with capture_logs() as logs:
            assert ids(await store.due("slack", at(10))) == ["before", "after"]

        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            status, last_error, finished_at = conn.execute(
                "SELECT status, last_error, finished_at FROM outbox WHERE id = 'bad'"
            ).fetchone()
        assert status == "failed"
        assert last_error.startswith("cannot be read: ")
        assert finished_at == "2025-03-01T12:00:10.123456+00:00"
        [logged] = [e for e in logs if e["event"] == "outbox.unreadable_set_aside"]
        assert (logged["log_level"], logged["notification"]) == ("error", "bad")
        assert ids(await store.due("slack", at(10))) == ["before", "after"]
        assert ids(await store.outbox()) == ["before", "after"]  # the listing skips it too
    finally:
        await store.aclose()
