"""Receivers built from the notification file, sharing one HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import httpx

from alertd.errors import Location, RuleError
from alertd.notify.config import (
    NotifyConfig,
    console_only,
    load_notify,
    notify_files,
    notify_from_document,
)
from alertd.notify.receiver_config import Receiver as ReceiverSettings
from alertd.notify.receivers.base import BuildContext, Receiver
from alertd.notify.receivers.registry import RECEIVERS
from alertd.rules.yaml_source import Document

# Sends per second each kind of receiver's service takes.
DEFAULT_RATES = {kind.key: kind.rate for kind in RECEIVERS}


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
        if built is not None:
            receivers[name], rates[name] = built
    return receivers, rates


def _build(
    settings: ReceiverSettings, client: httpx.AsyncClient, out: TextIO, console_json: bool
) -> tuple[Receiver, float] | None:
    kind = settings.built_by
    if kind is None or settings.integration is None:
        return None
    context = BuildContext(settings.name, client, out, json_lines=console_json)
    return kind.build(settings.integration, context), kind.rate


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
