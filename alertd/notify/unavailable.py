"""Receivers a route names that cannot send: said loudly, and raised as alerts.

A secret left unset (or a misspelt `${VARIABLE}`) would otherwise skip a receiver quietly
and page nobody there. At start each one is logged at warning and becomes an
`AlertdReceiverUnavailable{receiver=...}` alert, routed like any other, so the receivers
that do work say that paging is degraded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import structlog

from alertd.model import AlertState, Severity, Status, fingerprint
from alertd.notify.config import RoutedUnavailable

RECEIVER_ALERT = "AlertdReceiverUnavailable"

log = structlog.get_logger(__name__)


def warn_unavailable(unavailable: Sequence[RoutedUnavailable]) -> None:
    """Log each receiver that a route names but that cannot send, at warning."""
    for receiver in unavailable:
        log.warning(
            "receiver.unavailable",
            receiver=receiver.name,
            reason=receiver.reason,
            named_at=str(receiver.location),
        )


def receiver_alerts(
    unavailable: Sequence[RoutedUnavailable], since: dt.datetime
) -> dict[str, AlertState]:
    """One firing critical `AlertdReceiverUnavailable{receiver=...}` per receiver, by
    fingerprint."""
    states = {}
    for receiver in unavailable:
        labels = (("receiver", receiver.name),)
        key = fingerprint(RECEIVER_ALERT, labels)
        states[key] = AlertState(
            key, RECEIVER_ALERT, labels, Status.FIRING, Severity.CRITICAL,
            active_since=since, firing_since=since, last_breach=since, last_eval=since,
        )  # fmt: skip
    return states


def reasons(unavailable: Sequence[RoutedUnavailable]) -> Mapping[str, str]:
    """Why each receiver alert fires, by fingerprint: what its message says."""
    return {
        fingerprint(RECEIVER_ALERT, (("receiver", r.name),)): f"{r.reason} ({r.location})"
        for r in unavailable
    }
