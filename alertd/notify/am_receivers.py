"""Alertmanager's receiver syntax: `slack_configs`, `pagerduty_configs`, `webhook_configs`
and `msteamsv2_configs`, several per receiver, with `global:` defaults.

Each entry is mapped onto the settings of one of our receiver kinds, so it is sent exactly
as a receiver written in our own syntax. `send_resolved` defaults as in Alertmanager:
false for Slack, true for the others. Title and text templates are Jinja, as everywhere in
alertd, not Go templates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from alertd.notify.receivers.fields import Secret, Strict, Template, Text
from alertd.rules.durations import duration_at_most

# Alertmanager ends an alert that is not re-sent after this; alertd resolves alerts itself,
# so the setting is accepted for compatibility and has no effect.
LONGEST_RESOLVE_TIMEOUT = dt.timedelta(days=7)


class GlobalSpec(Strict):
    """`global:` defaults the receivers' entries take when they leave a setting out."""

    slack_api_url: Secret | None = None
    slack_api_url_file: Text | None = None
    pagerduty_url: Text | None = None
    resolve_timeout: (
        Annotated[dt.timedelta, BeforeValidator(duration_at_most(LONGEST_RESOLVE_TIMEOUT))] | None
    ) = None


class AmEntry(Strict):
    """One entry of a `*_configs` list: which kind it becomes and with which settings."""

    kind: ClassVar[str]
    # Our setting's name for each of Alertmanager's that is named differently.
    renamed: ClassVar[Mapping[str, str]] = {}
    send_resolved: bool = True

    def settings(self, shared: GlobalSpec) -> dict[str, Any]:
        """The settings of our kind, as its model reads them."""
        written = {
            self.renamed.get(name, name): value
            for name, value in self
            if value is not None and name != "send_resolved"
        }
        return {**self.inherited(shared, written), **written}

    def inherited(self, shared: GlobalSpec, written: Mapping[str, Any]) -> dict[str, Any]:
        """What the entry takes from `global:` for the settings it leaves out."""
        return {}

    def written_name(self, ours: str) -> str:
        """Alertmanager's name of our setting `ours`, for errors."""
        return next((am for am, mine in self.renamed.items() if mine == ours), ours)


class SlackEntry(AmEntry):
    kind: ClassVar[str] = "slack"
    renamed: ClassVar[Mapping[str, str]] = {
        "api_url": "webhook_url",
        "api_url_file": "webhook_url_file",
    }
    send_resolved: bool = False
    api_url: Secret | None = None
    api_url_file: Text | None = None
    channel: Text | None = None
    title: Template | None = None
    text: Template | None = None

    def settings(self, shared: GlobalSpec) -> dict[str, Any]:
        # An incoming webhook posts to the channel it was made for, whatever the payload
        # says; Alertmanager's configurations name it anyway, for the reader.
        found = super().settings(shared)
        found.pop("channel", None)
        return found

    def inherited(self, shared: GlobalSpec, written: Mapping[str, Any]) -> dict[str, Any]:
        if "webhook_url" in written or "webhook_url_file" in written:
            return {}
        given = {"webhook_url": shared.slack_api_url, "webhook_url_file": shared.slack_api_url_file}
        return {name: value for name, value in given.items() if value is not None}


class PagerDutyEntry(AmEntry):
    kind: ClassVar[str] = "pagerduty"
    renamed: ClassVar[Mapping[str, str]] = {"description": "summary"}
    routing_key: Secret | None = None
    routing_key_file: Text | None = None
    url: Text | None = None
    description: Template | None = None
    source: Template | None = None
    component: Template | None = None
    group: Template | None = None
    class_: Template | None = Field(default=None, alias="class")

    def settings(self, shared: GlobalSpec) -> dict[str, Any]:
        found = super().settings(shared)
        if "class_" in found:
            found["class"] = found.pop("class_")
        return found

    def inherited(self, shared: GlobalSpec, written: Mapping[str, Any]) -> dict[str, Any]:
        return {"url": shared.pagerduty_url} if shared.pagerduty_url is not None else {}


class WebhookEntry(AmEntry):
    kind: ClassVar[str] = "webhook"
    url: Secret | None = None
    url_file: Text | None = None
    max_alerts: int = Field(default=0, ge=0)


class TeamsEntry(AmEntry):
    kind: ClassVar[str] = "teams"
    webhook_url: Secret | None = None
    webhook_url_file: Text | None = None
    title: Template | None = None
    text: Template | None = None


# Each list's key in a receiver, and the entries it holds.
AM_LISTS: Mapping[str, type[AmEntry]] = {
    "slack_configs": SlackEntry,
    "pagerduty_configs": PagerDutyEntry,
    "webhook_configs": WebhookEntry,
    "msteamsv2_configs": TeamsEntry,
}


def entry_name(receiver: str, position: int) -> str:
    """The name the `position`th integration of `receiver` is sent and recorded under: the
    receiver's own for the first, so a receiver with one integration keeps its name."""
    return receiver if position == 0 else f"{receiver}#{position + 1}"


def receiver_of(name: str) -> str:
    """The receiver an integration's name belongs to (`entry_name` undone)."""
    return name.partition("#")[0]
