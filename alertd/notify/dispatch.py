"""Grouping and timing: which notifications are due now, Alertmanager-style. Pure.

A group's first notification waits `group_wait` after its first alert; after that, a change
(an alert added, resolved or re-graded) is sent at most every `group_interval`, and an
unchanged firing group is repeated every `repeat_interval`. When the whole group has
resolved, the resolve goes out at once rather than a group_interval later.
Silenced and inhibited alerts are *held*: they neither page nor count as resolved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from alertd.model import AlertSnapshot, GroupState, Notification
from alertd.notify.routing import REPEAT_INTERVAL, RouteMatch

Router = Callable[[AlertSnapshot], list[RouteMatch]]
Muted = Callable[[RouteMatch, dt.datetime], bool]
# What a resolve shows of an alert that the group last showed firing.
Ended = Callable[[AlertSnapshot, dt.datetime], AlertSnapshot]


@dataclass
class Dispatch:
    """What one dispatch step changed."""

    groups: dict[str, GroupState] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    # The route each kept group answers to, for its timers (`alertd.notify.timers`).
    routes: dict[str, RouteMatch] = field(default_factory=dict)


@dataclass
class _Members:
    match: RouteMatch
    alerts: dict[str, AlertSnapshot] = field(default_factory=dict)


def dispatch(
    firing: Sequence[AlertSnapshot],
    held: Collection[str],
    groups: Mapping[str, GroupState],
    now: dt.datetime,
    *,
    route: Router,
    muted: Muted = lambda _, __: False,
    sends_resolved: Callable[[str], bool] = lambda _: True,
    ended: Ended | None = None,
) -> Dispatch:
    """The groups after this step, and the notifications due now."""
    ending = ended or _ended
    members: dict[str, _Members] = {}
    for alert in firing:
        for routed in route(alert):
            key = routed.group_key(alert.labels)
            members.setdefault(key, _Members(routed)).alerts[alert.fingerprint] = alert
    out = Dispatch()
    for key in dict.fromkeys([*groups, *members]):
        group = groups.get(key)
        present = members.get(key)
        match = present.match if present else _routed(group, route)
        _step_group(key, group, present, match, held, now, muted, sends_resolved, ending, out)
        if key in out.groups and match is not None:
            out.routes[key] = match
    return out


def _step_group(
    key: str,
    group: GroupState | None,
    present: _Members | None,
    match: RouteMatch | None,
    held: Collection[str],
    now: dt.datetime,
    muted: Muted,
    sends_resolved: Callable[[str], bool],
    ended: Ended,
    out: Dispatch,
) -> None:
    alerts = present.alerts if present else {}
    if group is not None and present is not None and present.match.receiver != group.receiver:
        _close_moved(group, now, sends_resolved, ended, out)
        group = None
    if group is None:
        assert present is not None
        first = next(iter(alerts.values()))
        group = GroupState(
            key, present.match.receiver, present.match.group_labels(first.labels), now
        )
    firing = {fp: a for fp, a in alerts.items() if fp not in held}
    last = {a.fingerprint: a for a in group.notified}
    kept = {fp: a for fp, a in last.items() if fp in held and fp not in firing}
    resolved = [a for fp, a in last.items() if fp not in firing and fp not in held]
    if group.last_flush is None and not firing:
        out.dropped.append(key)  # never notified and nothing left to say
        return
    if not _due(group, present, firing, last, resolved, now):
        out.groups[key] = group
        return
    if match is not None and muted(match, now):
        out.groups[key] = group  # a mute time interval: even a resolve waits for its end
        return
    tells_resolved = sends_resolved(group.receiver)
    if firing and not tells_resolved and _only_resolves(group, match, firing, last, now):
        # Without send_resolved a partial resolve is no news (Alertmanager's dedup): the
        # group forgets the resolved alerts and keeps its repeat timer.
        out.groups[key] = dataclasses.replace(group, notified=(*firing.values(), *kept.values()))
        return
    shown = [*firing.values(), *(ended(a, now) for a in resolved if tells_resolved)]
    if firing or tells_resolved:
        out.notifications.append(_notification(group, shown, bool(firing), now))
    # A resolve closes the group's incident (PagerDuty resolves the dedup_key), so held
    # alerts are not carried past it: when they are heard again they open a new one.
    notified = (*firing.values(), *kept.values()) if firing else ()
    if notified:
        out.groups[key] = dataclasses.replace(group, last_flush=now, notified=notified)
    else:
        out.dropped.append(key)


def _only_resolves(
    group: GroupState,
    match: RouteMatch | None,
    firing: Mapping[str, AlertSnapshot],
    last: Mapping[str, AlertSnapshot],
    now: dt.datetime,
) -> bool:
    """Nothing but resolves changed, and no reminder is due."""
    news = any(fp not in last or last[fp].severity != a.severity for fp, a in firing.items())
    repeat = match.repeat_interval if match is not None else REPEAT_INTERVAL
    return not news and group.last_flush is not None and now < group.last_flush + repeat


def _routed(group: GroupState | None, route: Router) -> RouteMatch | None:
    """The route a group with no alerts left belongs to, found through what it notified."""
    if group is None:
        return None
    for alert in group.notified:
        for match in route(alert):
            if match.group_key(alert.labels) == group.key:
                return match
    return None


def _close_moved(
    group: GroupState,
    now: dt.datetime,
    sends_resolved: Callable[[str], bool],
    ended: Ended,
    out: Dispatch,
) -> None:
    """The group's route now names another receiver (a reload): the old receiver hears
    the group resolved there, so no incident stays open where nobody will close it, and
    the alerts start afresh at the new receiver."""
    if group.last_flush is not None and group.notified and sends_resolved(group.receiver):
        shown = [ended(a, now) for a in group.notified]
        out.notifications.append(_notification(group, shown, False, now))


def _due(
    group: GroupState,
    present: _Members | None,
    firing: Mapping[str, AlertSnapshot],
    last: Mapping[str, AlertSnapshot],
    resolved: Sequence[AlertSnapshot],
    now: dt.datetime,
) -> bool:
    if present is None or group.last_flush is None:
        if group.last_flush is None:
            return present is not None and now >= group.first_seen + present.match.group_wait
        return bool(resolved)  # the whole group resolved: say so at once
    changed = bool(resolved) or any(
        fp not in last or last[fp].severity != alert.severity for fp, alert in firing.items()
    )
    if not firing:
        return bool(resolved)
    if changed:
        return now >= group.last_flush + present.match.group_interval
    return now >= group.last_flush + present.match.repeat_interval


def _ended(alert: AlertSnapshot, now: dt.datetime) -> AlertSnapshot:
    return dataclasses.replace(alert, firing=False, ends_at=now)


def _notification(
    group: GroupState, alerts: Sequence[AlertSnapshot], firing: bool, now: dt.datetime
) -> Notification:
    # The id is a function of the group, the instant and what is said, so a step redone
    # after a crash enqueues the same notification again, which the outbox ignores, while
    # two different notifications of one group at one instant (two rule groups ticking at
    # the same grid time) both go out.
    said = "\n".join(
        f"{a.fingerprint} {a.firing} {a.severity.value if a.severity else ''}" for a in alerts
    )
    stamp = f"{group.receiver}\n{group.key}\n{now.isoformat()}\n{firing}\n{said}"
    return Notification(
        id=hashlib.sha256(stamp.encode()).hexdigest()[:24],
        receiver=group.receiver,
        group_key=group.key,
        group_labels=group.group_labels,
        firing=firing,
        alerts=tuple(alerts),
        created_at=now,
    )
