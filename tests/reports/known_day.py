"""A known day of traffic in the emulator and of alerts in a store, for report tests.

The day before AT is the report's period; the day before that, the previous period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from alertd.emulator.server import RunningEmulator
from alertd.model import Change, Severity, Status, Transition
from alertd.store.base import Commit
from alertd.store.memory import MemoryStore

AT = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
DATABASE = "pitchey_database_metrics"
PERFORMANCE = "pitchey_performance_metrics"
ERRORS = "pitchey_error_tracking"


def point(
    before: dt.timedelta, blobs: Sequence[str], doubles: Sequence[float], interval: int
) -> dict[str, object]:
    """One point written `before` AT, standing for `interval` events."""
    return {
        "timestamp": AT - before,
        "indexes": [blobs[0]],
        "blobs": list(blobs),
        "doubles": list(doubles),
        "sample_interval": interval,
    }


def write_known_day(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write(
        DATABASE,
        [
            # queryType, table, status, errorCode, endpoint, userId; duration, rowCount, ts
            point(2 * HOUR, ["SELECT", "users", "success", "", "/u", "u1"], [50, 1, 0], 1),
            point(3 * HOUR, ["SELECT", "users", "success", "", "/u", "u2"], [150, 3, 0], 2),
            point(5 * HOUR, ["INSERT", "pitches", "error", "23505", "/p", "u1"], [300, 0, 0], 1),
            # The first instant of the period: inside it.
            point(DAY, ["SELECT", "pitches", "success", "", "/p", "u3"], [20, 9, 0], 4),
            # At AT itself: the period ends before it.
            point(dt.timedelta(0), ["SELECT", "users", "error", "57P01", "/u", "u1"], [9000], 50),
            # The previous period.
            point(DAY + HOUR, ["SELECT", "users", "success", "", "/u", "u4"], [1000, 1, 0], 1),
            point(DAY + 2 * HOUR, ["SELECT", "users", "error", "08006", "/u", "u4"], [40, 0, 0], 1),
        ],
    )
    ae.write(
        PERFORMANCE,
        [
            # endpoint, method, statusCode, cacheStatus, userId; duration, queryCount, ts
            point(2 * HOUR, ["/api/pitches", "GET", "200", "HIT", "u1"], [40, 0, 0], 10),
            point(3 * HOUR, ["/api/pitches", "GET", "200", "MISS", "u2"], [120, 2, 0], 5),
            point(4 * HOUR, ["/api/pitches", "GET", "503", "DYNAMIC", "u3"], [900, 1, 0], 5),
            point(6 * HOUR, ["/api/users", "POST", "201", "DYNAMIC", "u4"], [80, 1, 0], 20),
            point(DAY + HOUR, ["/api/pitches", "GET", "200", "HIT", "u1"], [60, 0, 0], 9),
            point(DAY + 3 * HOUR, ["/api/pitches", "GET", "200", "MISS", "u1"], [300, 2, 0], 1),
        ],
    )
    ae.write(
        ERRORS,
        [
            # type, source, message, code, endpoint, userId; timestamp, errorCount
            point(2 * HOUR, ["api_error", "worker", "Unavailable", "503", "/p", "u3"], [0, 1], 2),
            point(7 * HOUR, ["db_error", "database", "dup", "23505", "/p", "u1"], [0, 3], 1),
            point(8 * HOUR, ["api_error", "database", "timeout", "504", "/u", "u2"], [0, 1], 1),
        ],
    )


def _transition(before: dt.timedelta, fingerprint: str, rule: str, change: Change) -> Transition:
    firing = change is Change.FIRING
    return Transition(
        at=AT - before,
        fingerprint=fingerprint,
        rule=rule,
        labels=(("table", fingerprint),),
        change=change,
        previous=Status.PENDING if firing else Status.FIRING,
        status=Status.FIRING if firing else Status.INACTIVE,
        severity=Severity.CRITICAL if firing else None,
        previous_severity=None if firing else Severity.CRITICAL,
        value=None,
    )


async def known_alerts() -> MemoryStore:
    """SlowQueryP95 fired twice in the period and resolved after 30 min and after 2 h; an
    alert that fired in the previous period resolved 1 h into this one; another fired
    in it and still fires; one fired after AT (not in the report)."""
    store = MemoryStore()
    slow, errors = "SlowQueryP95", "ApiErrorRate"
    history = [
        _transition(DAY + HOUR, "e1", errors, Change.FIRING),
        _transition(DAY - HOUR, "e1", errors, Change.RESOLVED),
        _transition(10 * HOUR, "s1", slow, Change.FIRING),
        _transition(10 * HOUR - 30 * dt.timedelta(minutes=1), "s1", slow, Change.RESOLVED),
        _transition(6 * HOUR, "s2", slow, Change.FIRING),
        _transition(4 * HOUR, "s2", slow, Change.RESOLVED),
        _transition(HOUR, "e2", errors, Change.FIRING),
        _transition(-HOUR, "s3", slow, Change.FIRING),
    ]
    for t in history:
        await store.commit(Commit(at=t.at, group="g", transitions=(t,)))
    return store
