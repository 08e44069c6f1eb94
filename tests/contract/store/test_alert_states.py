"""The alert-state role, held to one suite for every store: what the evaluator may rely
on whichever store the daemon runs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from alertd.errors import StoreError
from alertd.model import (
    AlertState,
    Change,
    Severity,
    Status,
    Transition,
)
from alertd.store.base import AlertStates, Commit
from tests.contract.store.builders import (
    FP,
    HISTORY,
    LABELS,
    OTHER_FP,
    T0,
    UTC,
    at,
    firing,
    point,
    states,
    transition,
)

pytestmark = pytest.mark.anyio


async def test_alert_state_with_every_field_set_round_trips(store: AlertStates) -> None:
    state = firing()
    await store.commit(Commit(at=at(90.5), group="database", states=(state,)))

    assert await store.load() == {FP: state}


async def test_alert_state_with_none_fields_round_trips(store: AlertStates) -> None:
    state = AlertState(fingerprint=FP, rule="SlowQueryP95", labels=(), status=Status.INACTIVE)
    await store.commit(Commit(at=T0, group="database", states=(state,)))

    assert await store.load() == {FP: state}


async def test_pending_state_keeps_its_for_clock_to_the_microsecond(store: AlertStates) -> None:
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


async def test_times_in_other_zones_come_back_as_the_same_instant_in_utc(
    store: AlertStates,
) -> None:
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
async def test_extreme_values_round_trip(store: AlertStates, value: float) -> None:
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


async def test_nan_values_stay_nan_not_none(store: AlertStates) -> None:
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


async def test_texts_holding_nul_and_backslashes_round_trip(store: AlertStates) -> None:
    # PostgreSQL text cannot hold NUL: that store escapes such texts, and only those.
    labels = (("table", "a\x00b"), ("path", "C:\\0\\x"))
    state = replace(firing("fp\x00\\0"), rule="Rule\x00", labels=labels)
    await store.commit(Commit(at=T0, group="g\x00", states=(state,)))

    assert await store.load() == {state.fingerprint: state}


async def test_upsert_replaces_the_state_with_the_same_fingerprint(store: AlertStates) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(value=201.0),)))
    replacement = firing(value=250.0)

    await store.commit(Commit(at=at(30), group="database", states=(replacement,)))

    assert await store.load() == {FP: replacement}


async def test_removed_deletes_only_the_named_states(store: AlertStates) -> None:
    kept = firing(OTHER_FP)
    await store.commit(Commit(at=T0, group="database", states=(firing(), kept)))

    await store.commit(Commit(at=at(30), group="database", removed=(FP, "never-stored")))

    assert await store.load() == {OTHER_FP: kept}


async def test_a_fingerprint_both_upserted_and_removed_ends_removed(store: AlertStates) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(),), removed=(FP,)))

    assert await store.load() == {}


async def test_transitions_come_back_oldest_first_in_commit_order(store: AlertStates) -> None:
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


async def test_stored_transitions_equal_what_was_committed(store: AlertStates) -> None:
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


async def test_transitions_since_includes_that_instant(store: AlertStates) -> None:
    sent = tuple(transition(at(30 * i), reason=str(i)) for i in range(4))
    await store.commit(Commit(at=at(90), group="database", transitions=sent))

    assert [t.reason for t in await store.transitions(since=at(30))] == ["1", "2", "3"]
    assert [t.reason for t in await store.transitions(since=at(30.000001))] == ["2", "3"]
    assert await store.transitions(since=at(91)) == []


async def test_transitions_limit_keeps_the_newest_oldest_first(store: AlertStates) -> None:
    sent = tuple(transition(at(30 * i), reason=str(i)) for i in range(6))
    await store.commit(Commit(at=at(150), group="database", transitions=sent))

    assert [t.reason for t in await store.transitions(limit=2)] == ["4", "5"]
    assert [t.reason for t in await store.transitions(since=at(30), limit=3)] == ["3", "4", "5"]
    assert await store.transitions(limit=0) == []


async def test_history_keeps_the_newest_points_oldest_first(store: AlertStates) -> None:
    for i in range(HISTORY + 3):
        await store.commit(Commit(at=at(30 * i), group="database", points=(point(at(30 * i), i),)))

    history = await store.history(FP)
    assert [p.value for p in history] == [3, 4, 5, 6, 7]
    assert [p.at for p in history] == [at(30 * i) for i in range(3, 8)]
    assert [p.value for p in await store.history(FP, limit=2)] == [6, 7]
    assert await store.history(FP, limit=0) == []


async def test_history_is_bounded_within_one_commit_and_per_series(store: AlertStates) -> None:
    many = tuple(point(at(i), i) for i in range(HISTORY * 2))
    await store.commit(
        Commit(at=at(10), group="database", points=(*many, point(at(0), 99.0, OTHER_FP)))
    )

    assert [p.value for p in await store.history(FP)] == [5, 6, 7, 8, 9]
    assert await store.history(OTHER_FP) == [point(at(0), 99.0, OTHER_FP)]
    assert await store.history("no-such-series") == []


async def test_a_point_at_the_same_time_replaces_the_earlier_one(store: AlertStates) -> None:
    await store.commit(Commit(at=T0, group="database", points=(point(T0, 1.0),)))
    await store.commit(Commit(at=T0, group="database", points=(point(T0, None),)))

    assert await store.history(FP) == [point(T0, None)]


async def test_points_arriving_out_of_order_come_back_in_time_order(store: AlertStates) -> None:
    await store.commit(Commit(at=at(60), group="database", points=(point(at(60), 2.0),)))
    await store.commit(Commit(at=at(0), group="database", points=(point(at(0), 0.0),)))
    await store.commit(Commit(at=at(30), group="database", points=(point(at(30), 1.0),)))

    assert [p.value for p in await store.history(FP)] == [0.0, 1.0, 2.0]


async def test_a_commit_that_fails_midway_leaves_nothing_behind(store: AlertStates) -> None:
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


async def test_an_empty_commit_changes_nothing(store: AlertStates) -> None:
    await store.commit(Commit(at=T0, group="database", states=(firing(),)))

    await store.commit(Commit(at=at(30), group="database"))

    assert await store.load() == {FP: firing()}
    assert await store.transitions() == []


async def test_an_empty_store_reads_empty(store: AlertStates) -> None:
    assert await store.load() == {}
    assert await store.transitions() == []
    assert await store.history(FP) == []


async def test_a_naive_since_is_refused(store: AlertStates) -> None:
    with pytest.raises(StoreError, match="naive"):
        await store.transitions(since=T0.replace(tzinfo=None))


async def test_a_negative_limit_is_refused(store: AlertStates) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.history(FP, limit=-1)
    with pytest.raises(ValueError, match="limit"):
        await store.transitions(limit=-1)


# The store is shared by the examples on purpose: each writes and then reads its own state.
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(state=states)
async def test_any_alert_state_round_trips(store: AlertStates, state: AlertState) -> None:
    await store.commit(Commit(at=T0, group="g", states=(state,)))

    assert (await store.load())[state.fingerprint] == state
