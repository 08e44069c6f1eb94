"""Microsoft Teams through a Workflows webhook: one Adaptive Card, trimmed to fit.

Data goes only into `TextRun`s, which Teams never reads as markdown, so a label cannot
forge a link; the card uses nothing newer than version 1.4 and says 1.5, Teams' ceiling.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr, model_validator

from alertd.model import AlertSnapshot, Notification, Severity
from alertd.notify.receivers import render, templates
from alertd.notify.receivers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    BuildContext,
    Delivered,
    Endpoint,
    Payload,
    ReceiverKind,
    error_text,
    json_object,
    json_payload,
    url_secrets,
)
from alertd.notify.receivers.digest import Digest
from alertd.notify.receivers.fields import Integration, Secret, Template, Text
from alertd.notify.receivers.templates import DEFAULT_WORDING, Wording

CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Microsoft documents 28 KB, but Workflows counts more than the body against it and
# 24 KB bodies have been seen refused; aim well below.
MAX_BYTES = 20 * 1024
TITLE_CHARS = 300
# A digest's line: reports hold some 40 lines, so 300 characters each stays below MAX_BYTES.
DIGEST_LINE_CHARS = 300
# Teams shows at most six actions in a card.
MAX_ACTIONS = 6
# A card's title and text as a receiver's templates rendered them (None: the default).
Written = tuple[str | None, str | None]
# A templated text may be this many times as long as one alert's text at each level.
TEXT_SHARE = 5
# (alerts listed, characters per text), tried in order until the card fits.
LEVELS = ((50, 2000), (20, 1000), (10, 500), (5, 250), (2, 120), (0, 120))


class TeamsConfig(Integration):
    """A Teams Workflows webhook; its URL carries the credential (`sig`). The card's
    `title` and `text` (in place of one section per alert; plain text, a paragraph per
    line) may be templates."""

    webhook_url: Secret | None = None
    webhook_url_file: Text | None = None
    title: Template | None = None
    text: Template | None = None

    @model_validator(mode="after")
    def _one_way(self) -> TeamsConfig:
        self._exactly_one("webhook_url", "webhook_url_file")
        return self


def build(config: TeamsConfig, context: BuildContext) -> TeamsReceiver:
    return TeamsReceiver(
        context.name,
        config.secret("webhook_url"),
        client=context.client,
        wording=Wording(config.title, config.text),
    )


def card(
    n: Notification, max_alerts: int, text_chars: int, written: Written = (None, None)
) -> dict[str, Any]:
    """An Adaptive Card listing at most `max_alerts` alerts, each text cut at `text_chars`;
    `written` is a title and text (rendered templates) in place of the default ones."""
    shown = n.alerts[:max_alerts]
    title, text = written
    heading = render.truncate(templates.title(n, title), min(TITLE_CHARS, text_chars))
    body: list[dict[str, Any]] = [
        {
            "type": "Container",
            "style": _style(n),
            "items": [_rich(heading, weight="Bolder", size="Medium")],
        }
    ]
    if text is not None:
        cut = render.truncate(text.strip(), text_chars * TEXT_SHARE)
        body += [_rich(line) for line in cut.splitlines() if line.strip()]
        shown = n.alerts
    else:
        body += [_alert(a, text_chars) for a in shown]
    if hidden := len(n.alerts) - len(shown):
        body.append(
            {
                "type": "TextBlock",
                "text": f"…and {hidden} more alerts",
                "wrap": True,
                "isSubtle": True,
            }
        )
    body.append(_rich(f"alertd · {render.rfc3339(n.created_at)}", isSubtle=True, size="Small"))
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": heading,
        "body": body,
    }
    if actions := [
        {"type": "Action.OpenUrl", "title": render.truncate(text, TITLE_CHARS), "url": url}
        for text, url in render.group_links(n)[:MAX_ACTIONS]
    ]:
        content["actions"] = actions
    content["msteams"] = {"width": "Full"}
    return content


def envelope(content: dict[str, Any]) -> dict[str, Any]:
    """The message a Workflows trigger takes: one Adaptive Card attachment."""
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": content,
    }
    return {"type": "message", "attachments": [attachment]}


class TeamsReceiver:
    """Posts an Adaptive Card to a Workflows webhook; the URL (its `sig`) is the credential."""

    def __init__(
        self,
        name: str,
        url: SecretStr,
        *,
        client: httpx.AsyncClient,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_bytes: int = MAX_BYTES,
        wording: Wording = DEFAULT_WORDING,
    ) -> None:
        self.name = name
        self._wording = wording
        self._url = url
        self._max_bytes = max_bytes
        self._endpoint = Endpoint(
            client, name, "teams", timeout, url_secrets(url.get_secret_value())
        )

    def __repr__(self) -> str:
        return f"TeamsReceiver(name={self.name!r})"

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """The fullest card whose serialized message fits in `max_bytes`.

        Workflows posts a new message each time, so `previous_ref` changes nothing.
        """
        url = self._url.get_secret_value()
        written = self._written(n)
        for max_alerts, text_chars in LEVELS[:-1]:
            payload = json_payload(url, envelope(card(n, max_alerts, text_chars, written)))
            if len(payload.body) <= self._max_bytes:
                return payload
        return json_payload(url, envelope(card(n, *LEVELS[-1], written)))

    def render_digest(self, digest: Digest) -> Payload:
        """A digest as one card: a bold title, each section a heading and its lines."""
        return json_payload(self._url.get_secret_value(), envelope(digest_card(digest)))

    def _written(self, n: Notification) -> Written:
        """The receiver's templates rendered for `n` (TextRuns never read markup, so the
        data goes in as it is)."""
        if self._wording == DEFAULT_WORDING:
            return None, None
        context = templates.data(n)
        return (
            templates.fill(self._wording.title, context, setting=f"{self.name}.title"),
            templates.fill(self._wording.text, context, setting=f"{self.name}.text"),
        )

    def redact(self, text: str) -> str:
        return self._endpoint.redact(text)

    async def send(self, payload: Payload) -> Delivered:
        """Workflows answers 202 once the run is queued; a later failure shows only in the
        flow's run history."""
        response = await self._endpoint.post(payload)
        if response.is_success:
            return Delivered()
        raise self._endpoint.refused(response, _error(response))


def digest_card(digest: Digest) -> dict[str, Any]:
    """A digest's Adaptive Card; lines are cut so the card stays far below Teams' limit."""
    body: list[dict[str, Any]] = [
        _rich(render.truncate(digest.title, TITLE_CHARS), weight="Bolder", size="Medium")
    ]
    for heading, lines in digest.sections:
        items = [_rich(render.truncate(heading, TITLE_CHARS), weight="Bolder")]
        items += [_rich(render.truncate(line, DIGEST_LINE_CHARS)) for line in lines]
        body.append({"type": "Container", "separator": True, "items": items})
    if digest.image_url is not None:
        body.append({"type": "Image", "url": digest.image_url, "altText": digest.image_alt})
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": render.truncate(digest.title, TITLE_CHARS),
        "body": body,
        "msteams": {"width": "Full"},
    }


def _alert(a: AlertSnapshot, chars: int) -> dict[str, Any]:
    texts: list[tuple[str, dict[str, Any]]] = [
        (render.headline(a), {"weight": "Bolder"}),
        (render.labels_text(a.labels), {"isSubtle": True}),
        (render.since_text(a), {"isSubtle": True}),
        (a.evidence, {}),
        (render.summary(a), {}),
        (render.description(a), {}),
    ]
    items = [_rich(render.truncate(text, chars), **style) for text, style in texts if text]
    return {"type": "Container", "separator": True, "spacing": "Medium", "items": items}


def _rich(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def _style(n: Notification) -> str:
    if not n.firing:
        return "good"
    return "warning" if render.severity(n) is Severity.WARNING else "attention"


def _error(response: httpx.Response) -> str:
    """Workflows' `{"error": {"code", "message"}}`, or the body's text."""
    answer = json_object(response)
    error = answer.get("error") if answer else None
    if isinstance(error, dict) and "message" in error:
        code = f"{error.get('code')}: " if error.get("code") else ""
        return error_text(f"{code}{error['message']}")
    return error_text(response.text)


# Workflows takes about four posts a second per flow (reference/notifiers.md).
KIND = ReceiverKind("teams", TeamsConfig, build, rate=4.0)
