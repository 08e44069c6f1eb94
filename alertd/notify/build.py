"""Receivers built from the notification file, sharing one HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import httpx
from pydantic import SecretStr

from alertd.errors import Location, RuleError
from alertd.notify.config import (
    NotifyConfig,
    console_only,
    load_notify,
    notify_files,
    notify_from_document,
)
from alertd.notify.console import ConsoleNotifications
from alertd.notify.receiver_config import (
    ConsoleConfig,
    PagerDutyConfig,
    SlackConfig,
    TeamsConfig,
    WebhookConfig,
)
from alertd.notify.receiver_config import Receiver as ReceiverSettings
from alertd.notify.receivers.base import Receiver
from alertd.notify.receivers.pagerduty import PagerDutyReceiver
from alertd.notify.receivers.slack import SlackBotReceiver, SlackWebhookReceiver
from alertd.notify.receivers.teams import TeamsReceiver
from alertd.notify.receivers.webhook import WebhookReceiver
from alertd.rules.yaml_source import Document

# Sends per second each service takes (reference/notifiers.md): Slack about one message a
# second per webhook, Teams four, PagerDuty 120 events a minute per routing key.
DEFAULT_RATES = {"slack": 1.0, "teams": 4.0, "pagerduty": 2.0, "webhook": 10.0, "console": 1000.0}


def build_receivers(
    config: NotifyConfig, client: httpx.AsyncClient, out: TextIO, *, console_json: bool = False
) -> tuple[dict[str, Receiver], dict[str, float]]:
    """Every configured receiver with an integration, and its rate limit.

    `console_json` makes console receivers write JSON lines whatever the file asks (`run
    --json`: every line on stdout is then JSON).
    """
    receivers: dict[str, Receiver] = {}
    rates: dict[str, float] = {}
    for name, settings in config.receivers.items():
        built = _build(settings, client, out, console_json)
        if built is not None and settings.kind is not None:
            receivers[name] = built
            rates[name] = DEFAULT_RATES[settings.kind]
    return receivers, rates


def _build(
    settings: ReceiverSettings, client: httpx.AsyncClient, out: TextIO, console_json: bool
) -> Receiver | None:
    name, integration = settings.name, settings.integration
    if isinstance(integration, SlackConfig):
        if integration.bot_token is not None:
            return SlackBotReceiver(
                name, _secret(integration.bot_token), integration.channel or "", client=client
            )
        return SlackWebhookReceiver(name, _secret(integration.webhook_url), client=client)
    if isinstance(integration, TeamsConfig):
        return TeamsReceiver(name, _secret(integration.webhook_url), client=client)
    if isinstance(integration, PagerDutyConfig):
        return PagerDutyReceiver(
            name,
            _secret(integration.routing_key),
            client=client,
            url=integration.url,
            templates=integration.templates,
        )
    if isinstance(integration, WebhookConfig):
        return WebhookReceiver(
            name,
            _secret(integration.url),
            client=client,
            bearer_token=integration.bearer_token,
            hmac_secret=integration.hmac_secret,
            max_alerts=integration.max_alerts,
        )
    if isinstance(integration, ConsoleConfig):
        return ConsoleNotifications(
            name, out, json_lines=console_json or integration.format == "json"
        )
    return None


def _secret(value: SecretStr | None) -> SecretStr:
    if value is None:
        raise ValueError("a resolved receiver lacks its credential")
    return value


def notify_config(paths: Sequence[Path]) -> tuple[NotifyConfig | None, list[RuleError]]:
    """The notification settings among the rule paths; every alert to the console if none."""
    files = notify_files(paths)
    if len(files) > 1:
        return None, [_only_one(files)]
    return load_notify(files[0]) if files else (console_only(), [])


def notify_config_of(documents: Sequence[Document]) -> tuple[NotifyConfig | None, list[RuleError]]:
    """`notify_config` of the notification files the rules loader already parsed."""
    if len(documents) > 1:
        return None, [_only_one([Path(d.file) for d in documents])]
    return notify_from_document(documents[0]) if documents else (console_only(), [])


def _only_one(files: Sequence[Path]) -> RuleError:
    names = ", ".join(str(f) for f in files)
    return RuleError(Location(str(files[1])), f"only one notification file is allowed: {names}")
