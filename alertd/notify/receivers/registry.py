"""Every kind of receiver alertd offers. A receiver is one module holding its settings'
model, rendering and sending, and its `KIND`; a line here makes the notification file,
`alertd check` and the daemon know it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from alertd.notify.receivers import alertmanager, console, pagerduty, slack, teams, webhook
from alertd.notify.receivers.base import ReceiverKind

RECEIVERS: tuple[ReceiverKind[Any], ...] = (
    slack.KIND,
    teams.KIND,
    pagerduty.KIND,
    webhook.KIND,
    console.KIND,
    alertmanager.KIND,
)

BY_KEY: Mapping[str, ReceiverKind[Any]] = {kind.key: kind for kind in RECEIVERS}


def kind_of(settings: BaseModel) -> ReceiverKind[Any]:
    """The kind whose settings model `settings` is."""
    return next(kind for kind in RECEIVERS if type(settings) is kind.settings)
