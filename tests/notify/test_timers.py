"""Each notification group's own timer: when the notifier next has to look at it."""

from __future__ import annotations

import datetime as dt

from alertd.model import GroupState
from alertd.notify.routing import RouteMatch
from alertd.notify.timers import next_due

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
ROUTE = RouteMatch(
    "{}",
    "pager",
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def group(key: str, first_seen: dt.datetime, last_flush: dt.datetime | None) -> GroupState:
    return GroupState(key, "pager", (), first_seen, last_flush)


def test_no_group_no_timer() -> None:
    assert next_due([], T0) is None


def test_a_new_group_is_due_a_group_wait_after_its_first_alert() -> None:
    assert next_due([(group("a", T0, None), ROUTE)], at(10)) == at(30)


def test_a_notified_group_is_due_at_its_group_interval_then_at_its_repeat_interval() -> None:
    notified = group("a", T0, at(30))
    assert next_due([(notified, ROUTE)], at(40)) == at(30 + 300)
    # Past its group_interval only a change makes it due, and a change comes with a commit.
    assert next_due([(notified, ROUTE)], at(30 + 300)) == at(30 + 4 * 3600)


def test_the_earliest_timer_of_all_groups() -> None:
    groups = [(group("a", T0, at(30)), ROUTE), (group("b", at(100), None), ROUTE)]
    assert next_due(groups, at(60)) == at(130)


def test_a_group_held_past_its_time_by_a_mute_is_looked_at_each_minute() -> None:
    # Due at 03:00:30 and still unsent at 03:07:10: a mute time interval holds it, and
    # such intervals end on a minute.
    assert next_due([(group("a", T0, None), ROUTE)], at(430)) == at(480)
    assert next_due([(group("a", T0, T0), ROUTE)], at(5 * 3600 + 1)) == at(5 * 3600 + 60)
