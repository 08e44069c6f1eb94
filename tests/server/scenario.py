"""A demo-like moment in a store: SlowQueryP95 on users firing critical after a climb,
a warning it inhibits, a pending alert someone silenced, and the history behind them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alertd.model import (
    AlertState,
    Change,
    SeriesPoint,
    Severity,
    SilenceRecord,
    Status,
    Transition,
    fingerprint,
)
from alertd.notify.inhibit import InhibitRule
from alertd.notify.matchers import parse_matcher
from alertd.store.base import Commit, Store

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
SLOW_LABELS = (("table", "users"), ("team", "database"))
SLOW = fingerprint("SlowQueryP95", SLOW_LABELS)
FAILED_LABELS = (("table", "users"), ("team", "database"))
FAILED = fingerprint("FailedQueryRate", FAILED_LABELS)
API_LABELS = (("endpoint", "/api/pitches"), ("team", "platform"))
API = fingerprint("ApiResponseP95", API_LABELS)
# The shipped inhibit rule: a critical alert mutes warnings about the same thing.
INHIBIT_RULES = (
    InhibitRule(
        (parse_matcher('severity="critical"'),),
        (parse_matcher('severity="warning"'),),
        ("team", "table", "endpoint", "source"),
    ),
)
SILENCE_ID = "0123456789abcdef"
STEP = dt.timedelta(seconds=30)
POINTS = 60  # half an hour, every 30 s


def minutes_ago(minutes: float) -> dt.datetime:
    return AT - dt.timedelta(minutes=minutes)


def slow_values() -> list[float | None]:
    """Flat near 100 ms, one tick without data, then a climb past 150 and 200 ms."""
    values: list[float | None] = [100.0 + (i % 3) for i in range(30)]
    values[10] = None
    values += [140.0 + 3 * i for i in range(30)]
    values[-1] = 212.35
    return values


@dataclass(frozen=True)
class Scenario:
    states: dict[str, AlertState]
    transitions: tuple[Transition, ...]
    points: tuple[SeriesPoint, ...]


def scenario() -> Scenario:
    slow = AlertState(
        SLOW,
        "SlowQueryP95",
        SLOW_LABELS,
        Status.FIRING,
        Severity.CRITICAL,
        active_since=minutes_ago(13),
        firing_since=minutes_ago(12),
        last_breach=AT,
        last_seen=AT,
        last_eval=AT,
        value=212.35,
        samples=480,
    )
    failed = AlertState(
        FAILED,
        "FailedQueryRate",
        FAILED_LABELS,
        Status.FIRING,
        Severity.WARNING,
        active_since=minutes_ago(9),
        firing_since=minutes_ago(7),
        last_eval=AT,
        value=0.0234,
        samples=900,
    )
    api = AlertState(
        API,
        "ApiResponseP95",
        API_LABELS,
        Status.PENDING,
        Severity.WARNING,
        active_since=minutes_ago(0.5),
        last_eval=AT,
        value=431.0,
        samples=120,
    )
    points = tuple(
        SeriesPoint(SLOW, AT - STEP * (POINTS - 1 - i), value, 480)
        for i, value in enumerate(slow_values())
    )

    def moved(
        minutes: float,
        change: Change,
        status: Status,
        previous: Status,
        severity: Severity,
        before: Severity | None,
        value: float,
    ) -> Transition:
        return Transition(
            minutes_ago(minutes),
            SLOW,
            "SlowQueryP95",
            SLOW_LABELS,
            change,
            previous,
            status,
            severity,
            before,
            value,
            unit="ms",
        )

    transitions = (
        moved(13, Change.PENDING, Status.PENDING, Status.INACTIVE, Severity.WARNING, None, 152.0),
        moved(12, Change.FIRING, Status.FIRING, Status.PENDING, Severity.WARNING, None, 155.0),
        moved(
            5,
            Change.ESCALATED,
            Status.FIRING,
            Status.FIRING,
            Severity.CRITICAL,
            Severity.WARNING,
            203.0,
        ),
    )
    return Scenario({s.fingerprint: s for s in (slow, failed, api)}, transitions, points)


async def stored(store: Store, with_silence: bool = True) -> Scenario:
    """The scenario committed to `store`, and (unless told not to) its silence added."""
    made = scenario()
    await store.commit(
        Commit(
            AT,
            "database",
            states=tuple(made.states.values()),
            transitions=made.transitions,
            points=made.points,
        )
    )
    if with_silence:
        await store.add_silence(
            SilenceRecord(
                SILENCE_ID,
                ('alertname="ApiResponseP95"',),
                minutes_ago(1),
                AT + dt.timedelta(hours=2),
                "ana",
                "deploy in progress <b>not bold</b>",
            )
        )
    return made
