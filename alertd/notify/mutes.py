"""Why an alert is muted (the silence, or the alert inhibiting it), and a log that says so
once each time it changes, so a muted page leaves a trace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from alertd.model import AlertSnapshot, Labels
from alertd.notify.inhibit import Inhibitor, InhibitRule
from alertd.notify.silences import Silence, Silencer

log = structlog.get_logger(__name__)
ALERTNAME = "alertname"


@dataclass(frozen=True)
class Mute:
    """What mutes one alert: a silence's id, or the labels of the alert inhibiting it."""

    silence: str | None = None
    inhibited_by: Labels | None = None

    def __str__(self) -> str:
        if self.silence is not None:
            return f"silenced by {self.silence}"
        return f"inhibited by {alert_text(self.inhibited_by or ())}"


def mutes(
    firing: Sequence[AlertSnapshot],
    silences: Sequence[Silence],
    inhibit_rules: Iterable[InhibitRule],
    now: dt.datetime,
) -> dict[str, Mute]:
    """The firing alerts that are silenced or inhibited now, by fingerprint, and why."""
    silencer = Silencer(silences, now, (a.labels for a in firing))
    inhibitor = Inhibitor((a.labels for a in firing), inhibit_rules)
    found: dict[str, Mute] = {}
    for alert in firing:
        if (silence := silencer.silencing(alert.labels)) is not None:
            found[alert.fingerprint] = Mute(silence=silence.id)
        elif (source := inhibitor.muted_by(alert.labels)) is not None:
            found[alert.fingerprint] = Mute(inhibited_by=source)
    return found


def alert_text(labels: Labels) -> str:
    """`SlowQueryP95{severity="critical", table="users"}`."""
    name = dict(labels).get(ALERTNAME, "")
    rest = ", ".join(f'{k}="{v}"' for k, v in labels if k != ALERTNAME)
    return f"{name}{{{rest}}}"


class MuteLog:
    """Logs each alert's mute when it starts or changes, and when it ends while the alert
    still fires; never the same mute twice."""

    def __init__(self) -> None:
        self._last: dict[str, Mute] = {}

    def saw(self, firing: Sequence[AlertSnapshot], muted: Mapping[str, Mute]) -> None:
        by_fingerprint = {a.fingerprint: a for a in firing}
        for key, mute in muted.items():
            if self._last.get(key) == mute:
                continue
            alert = by_fingerprint[key]
            log.info(
                "notification.muted",
                alert=alert_text(alert.labels),
                fingerprint=key,
                silence=mute.silence,
                inhibited_by=alert_text(mute.inhibited_by) if mute.inhibited_by else None,
            )
        for key in set(self._last) - set(muted):
            if key in by_fingerprint:
                log.info(
                    "notification.unmuted",
                    alert=alert_text(by_fingerprint[key].labels),
                    fingerprint=key,
                    was=str(self._last[key]),
                )
        self._last = dict(muted)
