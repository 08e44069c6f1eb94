"""What the store contract suites build their commits from: states, transitions,
notifications, silences, and Hypothesis strategies for each."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

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
from alertd.store.base import Commit

UTC = dt.UTC


T0 = dt.datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


HISTORY = 5


LABELS: Labels = (("table", "users"), ("env", "prod"), ("note", 'é ✓ "quoted"'))


FP = fingerprint("SlowQueryP95", LABELS)


OTHER_FP = fingerprint("SlowQueryP95", (("table", "pitches"),))


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
        evidence="p95(duration) 212 ms > 200 ms: 61 of 480 sampled rows above 200 ms, 95 % sure",
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
        evidence="p95(duration) 212 ms > 200 ms: 61 of 480 sampled rows above 200 ms ✓",
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


def statuses(entries: list[OutboxEntry]) -> dict[str, tuple[Delivery, str | None]]:
    return {e.id: (e.status, e.last_error) for e in entries}


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


example_ids = itertools.count()
