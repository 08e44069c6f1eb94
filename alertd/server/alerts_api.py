"""Alertmanager's `/api/v2/alerts`, `/alerts/groups`, `/receivers` and `/status`."""

from __future__ import annotations

import datetime as dt
import platform
import re
from collections.abc import Sequence
from typing import Annotated

import yaml
from fastapi import APIRouter, Query

from alertd.notify.routing import walk
from alertd.server.alert_view import AlertView, firing_alerts, selected
from alertd.server.am_models import (
    AlertGroup,
    AlertmanagerConfig,
    AlertmanagerStatus,
    AlertStatus,
    ClusterStatus,
    GettableAlert,
    PeerStatus,
    Receiver,
    ReceiverReference,
    VersionInfo,
)
from alertd.server.errors import ERROR_RESPONSES, ApiError
from alertd.server.filters import parse_filters
from alertd.server.parts import ServerParts
from alertd.store.ownership import Ownership

# A firing alert has no end yet; Alertmanager shows the time it would lapse unless
# renewed. alertd renews it at every tick, so it shows a short while ahead.
RENEWED_FOR = dt.timedelta(minutes=4)

Filters = Annotated[list[str] | None, Query()]


def router(parts: ServerParts) -> APIRouter:
    api = APIRouter(prefix="/api/v2")

    @api.get("/alerts", tags=["alert"], responses=ERROR_RESPONSES)
    async def get_alerts(
        filter: Filters = None,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        receiver: str | None = None,
    ) -> list[GettableAlert]:
        """The firing alerts; `filter` matchers must all hold; `receiver` is a regex."""
        views = await _chosen(parts, filter, active, silenced, inhibited, receiver)
        now = parts.clock.now()
        return [gettable(v, now) for v in views]

    @api.get("/alerts/groups", tags=["alertgroup"], responses=ERROR_RESPONSES)
    async def get_alert_groups(
        filter: Filters = None,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        muted: bool = True,
        receiver: str | None = None,
    ) -> list[AlertGroup]:
        """The firing alerts by notification group: per route they reach, by its group_by."""
        views = await _chosen(parts, filter, active, silenced, inhibited, receiver)
        now = parts.clock.now()
        pattern = _receiver_regex(receiver)
        groups: dict[tuple[str, str], AlertGroup] = {}
        for view in views:
            for match in view.routes:
                if pattern is not None and not pattern.fullmatch(match.receiver):
                    continue
                key = (match.receiver, match.group_key(view.alert.labels))
                group = groups.setdefault(
                    key,
                    AlertGroup(
                        labels=dict(match.group_labels(view.alert.labels)),
                        receiver=ReceiverReference(name=match.receiver),
                        alerts=[],
                    ),
                )
                group.alerts.append(gettable(view, now))
        shown = [
            g
            for g in groups.values()
            if muted or not all(a.status.state == "suppressed" for a in g.alerts)
        ]
        return sorted(shown, key=lambda g: (g.receiver.name, sorted(g.labels.items())))

    @api.get("/receivers", tags=["receiver"])
    async def get_receivers() -> list[Receiver]:
        """Every receiver the notification settings name, configured or skipped."""
        config = parts.notifier.config
        names = {*config.receivers, *(s.name for s in config.skipped)}
        names |= {r.settings.receiver for r in walk(config.route)}
        return [Receiver(name=name) for name in sorted(names)]

    @api.get("/status", tags=["general"])
    async def get_status() -> AlertmanagerStatus:
        """alertd as an Alertmanager: its cluster (replicas on PostgreSQL, or none), its
        routing as config."""
        return AlertmanagerStatus(
            cluster=cluster_status(parts.ownership),
            versionInfo=VersionInfo(
                version=parts.version,
                revision="",
                branch="",
                buildUser="alertd",
                buildDate="",
                goVersion=f"python{platform.python_version()}",
            ),
            config=AlertmanagerConfig(original=_config_text(parts)),
            uptime=parts.started_at,
        )

    return api


def cluster_status(owner: Ownership) -> ClusterStatus:
    """Replicas sharing a PostgreSQL store are a cluster: this one by name, and every
    replica its last lease renewal saw alive as a peer. They meet in the database, not on
    a gossip port, so a peer has no address to give. A lone daemon has no cluster."""
    if not owner.shared:
        return ClusterStatus(status="disabled")
    peers = [PeerStatus(name=replica, address="") for replica in owner.live]
    return ClusterStatus(name=owner.replica, status="ready", peers=peers)


def gettable(view: AlertView, now: dt.datetime) -> GettableAlert:
    alert = view.alert
    receivers = dict.fromkeys(m.receiver for m in view.routes)
    return GettableAlert(
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        receivers=[ReceiverReference(name=r) for r in receivers],
        fingerprint=alert.fingerprint,
        startsAt=alert.starts_at,
        updatedAt=view.state.last_eval or alert.starts_at,
        endsAt=now + RENEWED_FOR,
        status=AlertStatus(
            state="suppressed" if view.suppressed else "active",
            silencedBy=list(view.silenced_by),
            inhibitedBy=list(view.inhibited_by),
        ),
    )


async def _chosen(
    parts: ServerParts,
    filters: Sequence[str] | None,
    active: bool,
    silenced: bool,
    inhibited: bool,
    receiver: str | None,
) -> list[AlertView]:
    matchers = parse_filters(filters or ())
    pattern = _receiver_regex(receiver)
    views = selected(
        await firing_alerts(parts), matchers, active=active, silenced=silenced, inhibited=inhibited
    )
    if pattern is None:
        return views
    return [v for v in views if any(pattern.fullmatch(m.receiver) for m in v.routes)]


def _receiver_regex(receiver: str | None) -> re.Pattern[str] | None:
    if receiver is None:
        return None
    try:
        return re.compile(receiver)
    except re.error as exc:
        raise ApiError(400, f"bad receiver regex {receiver!r}: {exc.msg}") from None


def _config_text(parts: ServerParts) -> str:
    """The routing in Alertmanager's YAML terms; secrets are never part of it."""
    config = parts.notifier.config
    tree = config.route
    return yaml.safe_dump(
        {
            "route": {
                "receiver": tree.settings.receiver,
                "group_by": list(tree.settings.group_by),
                "routes": [
                    {
                        "receiver": r.settings.receiver,
                        "matchers": [str(m) for m in r.matchers],
                        "continue": r.continue_,
                    }
                    for r in tree.routes
                ],
            },
            "receivers": [{"name": name} for name in sorted(config.receivers)],
        },
        sort_keys=False,
    )
