"""When a notification group next needs the notifier: each group's own timer. Pure.

As in Alertmanager, every aggregation group has a timer: `group_wait` after its first
alert, then `group_interval` after its last notification (the earliest a change may be
sent) and `repeat_interval` after it (the reminder). Anything else that makes a group due
(an alert that fires, resolves or changes grade) comes with a commit of alert states,
which wakes the notifier by itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from alertd.model import GroupState
from alertd.notify.routing import RouteMatch

# Time intervals name minutes: a group held past its time by a mute is looked at again
# at each minute's start, where a mute can end.
MUTE_STEP = dt.timedelta(minutes=1)


def next_due(
    groups: Iterable[tuple[GroupState, RouteMatch]], now: dt.datetime
) -> dt.datetime | None:
    """The earliest instant after `now` at which a group's timer expires, or None."""
    deadlines = [d for group, route in groups if (d := _deadline(group, route, now)) is not None]
    return min(deadlines, default=None)


def _deadline(group: GroupState, route: RouteMatch, now: dt.datetime) -> dt.datetime | None:
    if group.last_flush is None:
        timers = [group.first_seen + route.group_wait]
        overdue = timers  # its first notification is due whatever happens: held by a mute
    else:
        interval = group.last_flush + route.group_interval
        repeat = group.last_flush + route.repeat_interval
        timers = [interval, repeat]
        # Past its group_interval a group is sent only on a change, which a commit brings;
        # past its repeat_interval it is due whatever happens: held by a mute.
        overdue = [repeat]
    later = [t for t in timers if t > now]
    if any(t <= now for t in overdue):
        later.append(_next_minute(now))
    return min(later, default=None)


def _next_minute(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0) + MUTE_STEP
