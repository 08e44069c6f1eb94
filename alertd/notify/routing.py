"""The route tree: which receivers an alert goes to, grouped how, on which timers.

Alertmanager's semantics: the search is depth-first and left to right; a route matches
when its matchers hold, and then its sub-routes are tried in order. The first sub-route
that matches ends the search at that level unless it says `continue: true`. A route with
no matching sub-route is itself the match. Every route carries its settings already
resolved from its ancestors (see `inherit`).

A route whose receiver is not configured (`delivers=False`, its secrets are unset) only
passes alerts on to its sub-routes: where it would be the match itself it counts as not
matching, so the search goes on to its next sibling and, failing those, ends at its
parent, exactly as if the route were not written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from alertd.model import Labels
from alertd.notify.matchers import LabelSet, Matcher, as_mapping, escape, matches_all

EVERY_LABEL = "..."  # `group_by: ["..."]` groups by every label: one group per alert
# ...except severity: an escalation is a change within the alert's group, not a new group
# (a new PagerDuty incident) while the old one resolves.
NOT_IN_EVERY_LABEL = frozenset({"severity"})

GROUP_WAIT = dt.timedelta(seconds=30)
GROUP_INTERVAL = dt.timedelta(minutes=5)
REPEAT_INTERVAL = dt.timedelta(hours=4)


@dataclass(frozen=True)
class RouteMatch:
    """Where and how alerts that end at one route are notified.

    `route_id` names the route by its matchers and its ancestors' (`{}/{team="db"}`), so
    alerts with equal group labels reaching two routes form two groups.
    """

    route_id: str
    receiver: str
    group_by: tuple[str, ...] = ()
    group_wait: dt.timedelta = GROUP_WAIT
    group_interval: dt.timedelta = GROUP_INTERVAL
    repeat_interval: dt.timedelta = REPEAT_INTERVAL
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()

    def group_labels(self, labels: Labels) -> Labels:
        """The labels that name an alert's group here: those in group_by that it has."""
        if EVERY_LABEL in self.group_by:
            return tuple(sorted(item for item in labels if item[0] not in NOT_IN_EVERY_LABEL))
        wanted = set(self.group_by)
        return tuple(sorted((name, value) for name, value in labels if name in wanted))

    def group_key(self, labels: Labels) -> str:
        """The group's stable, readable identity: `{}/{team="db"}:{alertname="X"}`."""
        inner = ",".join(f'{name}="{escape(value)}"' for name, value in self.group_labels(labels))
        return f"{self.route_id}:{{{inner}}}"


@dataclass(frozen=True)
class Route:
    """One node of the tree: when it matches, and what a match here means."""

    settings: RouteMatch
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    routes: tuple[Route, ...] = ()
    delivers: bool = True
    # The receiver's further integrations, each a match of its own where this one matches.
    also: tuple[RouteMatch, ...] = ()

    @property
    def id(self) -> str:
        return self.settings.route_id


def route(tree: Route, labels: LabelSet) -> list[RouteMatch]:
    """Every route an alert with these labels ends at, in tree order (empty: none)."""
    return [m for node in _match(tree, as_mapping(labels)) for m in (node.settings, *node.also)]


def matching_routes(tree: Route, labels: LabelSet) -> list[Route]:
    """The routes an alert with these labels ends at, in tree order (`route`'s nodes)."""
    return _match(tree, as_mapping(labels))


def inherit(
    parent: RouteMatch,
    route_id: str,
    *,
    receiver: str | None = None,
    group_by: Sequence[str] | None = None,
    group_wait: dt.timedelta | None = None,
    group_interval: dt.timedelta | None = None,
    repeat_interval: dt.timedelta | None = None,
    mute_time_intervals: Sequence[str] | None = None,
    active_time_intervals: Sequence[str] | None = None,
) -> RouteMatch:
    """A sub-route's settings: what it writes, and its parent's for whatever it leaves out.

    As in Alertmanager, time intervals are the route's own: a sub-route is muted or
    active only when it names intervals itself, so a migrated tree mutes what it did.
    """
    return RouteMatch(
        route_id=route_id,
        receiver=parent.receiver if receiver is None else receiver,
        group_by=parent.group_by if group_by is None else tuple(group_by),
        group_wait=parent.group_wait if group_wait is None else group_wait,
        group_interval=parent.group_interval if group_interval is None else group_interval,
        repeat_interval=parent.repeat_interval if repeat_interval is None else repeat_interval,
        mute_time_intervals=tuple(mute_time_intervals or ()),
        active_time_intervals=tuple(active_time_intervals or ()),
    )


def walk(tree: Route) -> Iterator[Route]:
    """Every route of the tree, parents before children, in file order."""
    yield tree
    for child in tree.routes:
        yield from walk(child)


def _match(node: Route, labels: Mapping[str, str]) -> list[Route]:
    if not matches_all(node.matchers, labels):
        return []
    found: list[Route] = []
    for child in node.routes:
        matched = _match(child, labels)
        found.extend(matched)
        if matched and not child.continue_:
            break
    if not found and node.delivers:
        found.append(node)
    return found
