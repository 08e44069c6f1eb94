"""The deciding half of notification: silence → inhibit → route → group → dedup → outbox.

Pure given its inputs: the alerts firing now, the groups as last stored, the silences and
the time. It reads the alert states the evaluator committed and commits the groups and
the outbox they call for in a transaction of its own: as it works from what is stored, a
crash between the two commits only means the step is taken after the restart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import structlog

from alertd.model import (
    AlertSnapshot,
    AlertState,
    GroupState,
    NotifyChanges,
    OutboxEntry,
    Status,
    Transition,
)
from alertd.notify.config import NotifyConfig, RoutedUnavailable
from alertd.notify.dispatch import dispatch
from alertd.notify.mutes import MuteLog, mutes
from alertd.notify.routing import RouteMatch, route
from alertd.notify.silences import Silence
from alertd.notify.snapshots import SnapshotCache, ended
from alertd.notify.time_intervals import muted
from alertd.notify.timers import next_due
from alertd.notify.unavailable import reasons, receiver_alerts
from alertd.rules.ruleset import Rule

DEFAULT_MAX_AGE = dt.timedelta(hours=6)

log = structlog.get_logger(__name__)


class Notifier:
    """Keeps the aggregation groups between steps; the store keeps them across restarts."""

    def __init__(
        self,
        config: NotifyConfig,
        rules: Mapping[str, Rule],
        *,
        max_age: dt.timedelta = DEFAULT_MAX_AGE,
        status_url: str | None = None,
        unavailable: Sequence[RoutedUnavailable] = (),
    ) -> None:
        """`unavailable`: receivers a route names that cannot send, each raised as an
        `AlertdReceiverUnavailable` alert from the first step on."""
        self.config = config
        self.unavailable = tuple(unavailable)
        self._internal: dict[str, AlertState] | None = None
        self._stale_internal = False
        self.rules = rules
        self.max_age = max_age
        self.status_url = status_url
        self.groups: dict[str, GroupState] = {}
        # The route of each group, for its timers; known once a step has seen the group.
        self.routes: dict[str, RouteMatch] = {}
        self._stepped: dict[str, RouteMatch] = {}
        self._snapshots = SnapshotCache()
        self._mute_log = MuteLog()
        self._held_routes: set[str] = set()
        self._latest = dt.datetime.min.replace(tzinfo=dt.UTC)

    def reload(self, config: NotifyConfig, rules: Mapping[str, Rule]) -> None:
        """Take new notification settings and rules; the groups and their timers stay.

        A group whose route now names another receiver is resolved at the old one and
        opened at the new at the next step (`dispatch`)."""
        self.config = config
        self.rules = rules
        if tuple(config.unavailable) != self.unavailable:
            # Receivers that can send now resolve at the next step; new ones fire then.
            self.unavailable = tuple(config.unavailable)
            self._stale_internal = True

    def step(
        self,
        states: Mapping[str, AlertState],
        silences: Sequence[Silence],
        now: dt.datetime,
        *,
        silenced_at: dt.datetime | None = None,
        resolutions: Mapping[str, Transition] | None = None,
    ) -> NotifyChanges:
        """The groups and outbox entries that the alerts firing now call for.

        `now` never goes back: a slow tick for an earlier instant that commits after a
        later step is taken at the later time, so the outbox's order (by creation) is the
        order in which things were decided and a resolve never overtakes its trigger.
        `resolutions` are the transitions that resolved alerts the groups last showed
        firing (`awaiting_resolution`), by fingerprint: a resolve quotes their values.
        """
        now = self._latest = max(now, self._latest)
        states = self.with_internal(states, now)
        firing = self._snapshots.firing(states, self.rules, reasons(self.unavailable))
        held = self.held(firing, silences, now if silenced_at is None else silenced_at)
        result = dispatch(
            firing,
            held,
            self.groups,
            now,
            route=self._route,
            muted=self._muted,
            sends_resolved=self._sends_resolved,
            ended=lambda alert, at: ended(
                alert,
                (resolutions or {}).get(alert.fingerprint),
                self._snapshots.last_firing(alert.fingerprint),
                self.rules.get(alert.rule),
                at,
            ),
        )
        self._stepped = result.routes
        outbox = tuple(
            OutboxEntry(
                notification=dataclasses.replace(n, status_url=self.status_url),
                expires_at=now + self.max_age,
                next_attempt_at=now,
            )
            for n in result.notifications
            if self._delivers(n.receiver)
        )
        return NotifyChanges(tuple(result.groups.values()), tuple(result.dropped), outbox)

    def with_internal(
        self, states: Mapping[str, AlertState], now: dt.datetime | None = None
    ) -> Mapping[str, AlertState]:
        """`states` and the notifier's own alerts (receivers that cannot send), which
        fire from the first step on."""
        if now is not None and (self._internal is None or self._stale_internal):
            # Keep each receiver alert's own start; add and drop as the receivers changed.
            before = self._internal or {}
            wanted = receiver_alerts(self.unavailable, now)
            self._internal = {key: before.get(key, state) for key, state in wanted.items()}
            self._stale_internal = False
        if not self._internal:
            return states
        return {**states, **self._internal}

    def awaiting_resolution(
        self, states: Mapping[str, AlertState]
    ) -> tuple[set[str], dt.datetime | None]:
        """The alerts some group last showed firing that fire no more, and the earliest
        time their resolving transitions can be at; ((), None) when there are none."""
        states = self.with_internal(states)
        gone: set[str] = set()
        since: dt.datetime | None = None
        for group in self.groups.values():
            for alert in group.notified:
                state = states.get(alert.fingerprint)
                if state is None or state.status is not Status.FIRING:
                    gone.add(alert.fingerprint)
                    flushed = group.last_flush or group.first_seen
                    since = flushed if since is None else min(since, flushed)
        return gone, since

    def committed(self, changes: NotifyChanges) -> None:
        """Take the changes as the new groups, once the store has them."""
        self.groups.update({g.key: g for g in changes.groups})
        self.routes.update(
            {g.key: self._stepped[g.key] for g in changes.groups if g.key in self._stepped}
        )
        for key in changes.dropped_groups:
            self.groups.pop(key, None)
            self.routes.pop(key, None)
        shown = {a.fingerprint for g in self.groups.values() for a in g.notified}
        self._snapshots.keep_only(shown | set(self._snapshots.firing_now))

    def next_due(self, now: dt.datetime) -> dt.datetime | None:
        """When a group's timer next calls for a step after `now`, or None."""
        timed = [(g, self.routes[k]) for k, g in self.groups.items() if k in self.routes]
        return next_due(timed, now)

    def held(
        self, firing: Sequence[AlertSnapshot], silences: Sequence[Silence], now: dt.datetime
    ) -> set[str]:
        """Alerts that are silenced or inhibited now: they neither page nor resolve."""
        muted = mutes(firing, silences, self.config.inhibit_rules, now)
        self._mute_log.saw(firing, muted)
        return set(muted)

    def _route(self, alert: AlertSnapshot) -> list[RouteMatch]:
        return route(self.config.route, alert.labels)

    def _muted(self, match: RouteMatch, now: dt.datetime) -> bool:
        held = muted(
            match.mute_time_intervals, match.active_time_intervals, self.config.time_intervals, now
        )
        if held and match.route_id not in self._held_routes:
            self._held_routes.add(match.route_id)
            log.info(
                "notification.muted",
                route=match.route_id,
                receiver=match.receiver,
                mute_time_intervals=list(match.mute_time_intervals),
                active_time_intervals=list(match.active_time_intervals),
            )
        elif not held:
            self._held_routes.discard(match.route_id)
        return held

    def _delivers(self, receiver: str) -> bool:
        # A receiver without an integration discards alerts (Alertmanager's null receiver):
        # nothing is queued that nobody would send. One that is not configured now (a
        # secret unset) still gets its notifications queued: a trigger waiting there must
        # be followed by its resolve when the secret is back.
        spec = self.config.receivers.get(receiver)
        return spec is None or spec.integration is not None

    def _sends_resolved(self, receiver: str) -> bool:
        spec = self.config.receivers.get(receiver)
        return spec.send_resolved if spec is not None else True
