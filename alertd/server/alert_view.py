"""The firing alerts as the API shows them: with receivers, silences and inhibitions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from alertd.model import AlertSnapshot, AlertState, Status
from alertd.notify.inhibit import Inhibitor
from alertd.notify.matchers import Matcher, matches_all
from alertd.notify.routing import RouteMatch, route
from alertd.notify.silences import Silence, Silencer, from_record
from alertd.notify.snapshots import snapshot, threshold_text
from alertd.server.parts import ServerParts


@dataclasses.dataclass(frozen=True)
class AlertView:
    """One firing alert; `silenced_by` holds silence ids, `inhibited_by` fingerprints."""

    alert: AlertSnapshot
    state: AlertState
    routes: tuple[RouteMatch, ...]
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]

    @property
    def suppressed(self) -> bool:
        return bool(self.silenced_by or self.inhibited_by)


async def active_silences(parts: ServerParts, now: dt.datetime) -> list[Silence]:
    return [from_record(r) for r in await parts.store.silences(active_at=now)]


async def firing_alerts(parts: ServerParts) -> list[AlertView]:
    """Every firing alert now, as Alertmanager would hold it."""
    now = parts.clock.now()
    notifier = parts.notifier
    firing = [
        (state, snapshot(state, rule, threshold_text(rule, state)))
        for state in parts.evaluator.states.values()
        if state.status is Status.FIRING
        for rule in [notifier.rules.get(state.rule)]
    ]
    silencer = Silencer(await active_silences(parts, now), now, (a.labels for _, a in firing))
    inhibitor = Inhibitor((a.labels for _, a in firing), notifier.config.inhibit_rules)
    by_labels = {a.labels: a.fingerprint for _, a in firing}
    views = []
    for state, alert in firing:
        silence = silencer.silencing(alert.labels)
        muter = inhibitor.muted_by(alert.labels)
        views.append(
            AlertView(
                alert,
                state,
                tuple(route(notifier.config.route, alert.labels)),
                (silence.id,) if silence is not None else (),
                (by_labels[muter],) if muter is not None else (),
            )
        )
    return sorted(views, key=lambda v: (v.alert.rule, v.alert.labels))


def selected(
    views: Sequence[AlertView],
    matchers: Sequence[Matcher],
    *,
    active: bool = True,
    silenced: bool = True,
    inhibited: bool = True,
) -> list[AlertView]:
    """Alertmanager's filters: all matchers hold, and the alert's kind is asked for."""
    return [
        v
        for v in views
        if matches_all(tuple(matchers), v.alert.labels)
        and (active or v.suppressed)
        and (silenced or not v.silenced_by)
        and (inhibited or not v.inhibited_by)
    ]
