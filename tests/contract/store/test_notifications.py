"""The notification role (groups and the outbox), held to one suite for every store:
what the notifier and its deliverer may rely on, and pruning, whichever store runs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from alertd.errors import StoreError
from alertd.model import (
    Delivery,
    GroupState,
    OutboxEntry,
)
from alertd.store.base import NOTHING_TO_RESOLVE, Commit, Pruned, Store
from tests.contract.store.builders import (
    FP,
    OTHER_FP,
    T0,
    UTC,
    at,
    enqueue,
    entries,
    entry,
    example_ids,
    firing,
    group_state,
    groups,
    ids,
    point,
    replace_alerts,
    silence,
    snapshot,
    statuses,
    transition,
)

pytestmark = pytest.mark.anyio


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
    for done, is_trigger in (("trigger-1", True), ("resolve-1", False)):
        queued = entry(done, created=0 if is_trigger else 10, firing=is_trigger)
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


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(group=groups)
async def test_any_group_round_trips(store: Store, group: GroupState) -> None:
    await store.commit(Commit(at=T0, group="notify", groups=(group,)))

    assert (await store.load_groups())[group.key] == group


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
