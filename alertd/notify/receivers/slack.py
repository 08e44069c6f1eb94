"""Slack: incoming webhooks, and the Web API with a bot token so a page resolves in place.

Messages are Block Kit built with slack-sdk's models, which check their own limits when
serialised; the 50-block total and the message text are kept in bounds here. Everything
that came from data is escaped (`&`, `<`, `>`) and sent with `verbatim`, so a label or an
error message can neither mention `@channel` nor forge a link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr, model_validator
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from alertd.errors import ReceiverError
from alertd.model import AlertSnapshot, Notification
from alertd.notify.receivers import render, slack_history, templates
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
    require_header_safe,
    url_secrets,
)
from alertd.notify.receivers.digest import Digest
from alertd.notify.receivers.fields import Integration, Secret, Template, Text
from alertd.notify.receivers.templates import DEFAULT_WORDING, Wording
from alertd.retry_after import retry_after_seconds

API_URL = "https://slack.com/api"
HEADER_CHARS = 150
SECTION_CHARS = 3000  # a section's text
FALLBACK_CHARS = 3000  # Slack cuts `text` at 40,000; a notification needs far less
URL_CHARS = 2000
# Link buttons: Slack takes 25 per actions block and 75 characters of button text.
MAX_BUTTONS, BUTTON_CHARS = 10, 75
# A status link in an alert should not grow a preview card under it.
NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}
# One block per listed alert; with header, "and N more" and context the message stays
# far below Slack's 50 blocks, which slack-sdk does not check.
MAX_ALERTS = 20
FALLBACK_ALERTS = 5
# Caps per line of an alert block; with the newlines they stay within a section's 3000.
HEADLINE_CHARS, LABELS_CHARS, SINCE_CHARS, SUMMARY_CHARS, DESCRIPTION_CHARS = (
    300,
    800,
    100,
    700,
    900,
)
EVIDENCE_CHARS = 190  # an evidence sentence runs near 100
# chat.update errors that mean the message is no longer there to update.
GONE_MESSAGE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
# Web API errors that may pass if the same call is made later; every other one will not.
RETRYABLE_API_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    }
)


class SlackConfig(Integration):
    """An incoming webhook, or a bot token and channel (so messages can be updated); the
    message's `title` (its header) and `text` (its body, in Slack's mrkdwn, in place of
    one block per alert) may be templates."""

    webhook_url: Secret | None = None
    webhook_url_file: Text | None = None
    bot_token: Secret | None = None
    bot_token_file: Text | None = None
    channel: Text | None = None
    # The Web API's base for a bot (GovSlack's is https://slack-gov.com/api).
    api_url: Text | None = None
    title: Template | None = None
    text: Template | None = None

    @model_validator(mode="after")
    def _one_way(self) -> SlackConfig:
        given = self._exactly_one("webhook_url", "webhook_url_file", "bot_token", "bot_token_file")
        if given[0].startswith("bot_token") and self.channel is None:
            raise ValueError("a bot_token needs a channel, e.g. channel: '#alerts'")
        if given[0].startswith("webhook_url") and self.channel is not None:
            raise ValueError("a webhook posts to its own channel; channel needs a bot_token")
        if given[0].startswith("webhook_url") and self.api_url is not None:
            raise ValueError("a webhook's URL is the whole address; api_url needs a bot_token")
        return self


def build(config: SlackConfig, context: BuildContext) -> SlackWebhookReceiver | SlackBotReceiver:
    """A bot-token receiver when the settings give a token, else a webhook one."""
    wording = Wording(config.title, config.text)
    if config.bot_token is not None:
        return SlackBotReceiver(
            context.name,
            config.bot_token,
            config.channel or "",
            client=context.client,
            api_url=config.api_url or API_URL,
            wording=wording,
        )
    return SlackWebhookReceiver(
        context.name, config.secret("webhook_url"), client=context.client, wording=wording
    )


def escape(text: str) -> str:
    """Text made inert for Slack: only `&`, `<` and `>` are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(
    n: Notification, wording: Wording = DEFAULT_WORDING, receiver: str = ""
) -> dict[str, Any]:
    """The `text` and `blocks` of a message about `n`, within Slack's limits."""
    heading = _filled(wording.title, n, f"{receiver}.title", escaped=False)
    body = _filled(wording.text, n, f"{receiver}.text", escaped=True)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_fit(templates.title(n, heading), HEADER_CHARS)))
    ]
    if body is None:
        shown = n.alerts[:MAX_ALERTS]
        blocks += [_alert_block(a) for a in shown]
        if hidden := len(n.alerts) - len(shown):
            blocks.append(SectionBlock(text=_mrkdwn(f"…and {hidden} more alerts")))
    elif body.strip():
        section = render.truncate(body.strip(), SECTION_CHARS, render.utf16_len)
        blocks.append(SectionBlock(text=_mrkdwn(section)))
    if buttons := _buttons(n):
        blocks.append(ActionsBlock(elements=buttons))
    blocks.append(_context(n))
    return {"text": _fallback(n, heading, body), "blocks": [b.to_dict() for b in blocks]}


def digest_message(digest: Digest) -> dict[str, Any]:
    """A digest's `text` and `blocks`: a header, a section per heading, the chart last."""
    title = _fit(digest.title, HEADER_CHARS)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=title))]
    for heading, lines in digest.sections:
        text = "\n".join([f"*{escape(heading)}*", *(escape(line) for line in lines)])
        section = render.truncate(text, SECTION_CHARS, render.utf16_len)
        blocks.append(SectionBlock(text=_mrkdwn(section)))
    if digest.image_url is not None:
        alt = _fit(digest.image_alt, 2000)
        blocks.append(ImageBlock(image_url=digest.image_url, alt_text=alt))
    return {
        "text": escape(_fit(digest.title, FALLBACK_CHARS)),
        "blocks": [b.to_dict() for b in blocks],
    }


def _filled(source: str | None, n: Notification, setting: str, *, escaped: bool) -> str | None:
    """A template's text; `escaped`: the data in it made inert, the template's own markup
    (`*bold*`, `<url|link>`) kept."""
    if source is None:
        return None
    return templates.fill(source, templates.data(n, escape if escaped else str), setting=setting)


class SlackWebhookReceiver:
    """Posts to a Slack incoming webhook; the URL is the credential."""

    def __init__(
        self,
        name: str,
        url: SecretStr,
        *,
        client: httpx.AsyncClient,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        wording: Wording = DEFAULT_WORDING,
    ) -> None:
        self.name = name
        self._url = url
        self._wording = wording
        self._endpoint = Endpoint(
            client, name, "slack", timeout, url_secrets(url.get_secret_value())
        )

    def __repr__(self) -> str:
        return f"SlackWebhookReceiver(name={self.name!r})"

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """A webhook message; webhooks cannot edit, so `previous_ref` changes nothing."""
        content = message(n, self._wording, self.name)
        return json_payload(self._url.get_secret_value(), {**content, **NO_UNFURL})

    def render_digest(self, digest: Digest) -> Payload:
        return json_payload(self._url.get_secret_value(), {**digest_message(digest), **NO_UNFURL})

    def redact(self, text: str) -> str:
        return self._endpoint.redact(text)

    async def send(self, payload: Payload) -> Delivered:
        """Slack answers 200 `ok`, or an error code as plain text with a 4xx or 5xx."""
        response = await self._endpoint.post(payload)
        if response.is_success:
            return Delivered()
        raise self._endpoint.refused(response, error_text(response.text))


class SlackBotReceiver:
    """Posts with a bot token through the Web API, and on resolve updates the first post.

    `Delivered.ref` is `<channel id>:<ts>`: `chat.update` needs the channel's ID, which
    the configured channel (often a name) is not.
    """

    def __init__(
        self,
        name: str,
        token: SecretStr,
        channel: str,
        *,
        client: httpx.AsyncClient,
        api_url: str = API_URL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        wording: Wording = DEFAULT_WORDING,
    ) -> None:
        require_header_safe(token.get_secret_value(), "Slack bot token")
        self.name = name
        self._wording = wording
        self._token = token
        self._channel = channel
        self._api_url = api_url.rstrip("/")
        # The channel's ID, which `conversations.history` needs: the one configured, or
        # the one Slack answered a post with.
        self._channel_id = channel if slack_history.is_channel_id(channel) else None
        secrets = (token.get_secret_value(),)
        self._endpoint = Endpoint(client, name, "slack", timeout, secrets)

    def __repr__(self) -> str:
        return f"SlackBotReceiver(name={self.name!r}, channel={self._channel!r})"

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """One message per group: `chat.postMessage` for its first notification; after
        that (every change, reminder and the resolve) `chat.update` of that message plus a
        reply in its thread, so no older message of the group keeps saying FIRING and
        the thread notifies of each change."""
        content = message(n, self._wording, self.name)
        if previous_ref is None:
            meta = slack_history.metadata(n)
            post = {"channel": self._channel, **content, **NO_UNFURL, "metadata": meta}
            return self._call("chat.postMessage", post)
        channel, ts = _message_ref(previous_ref, self._channel)
        reply = {"channel": channel, "thread_ts": ts, "text": content["text"], **NO_UNFURL}
        followups = (self._call("chat.postMessage", reply),)
        return self._call("chat.update", {"channel": channel, "ts": ts, **content}, followups)

    def render_digest(self, digest: Digest) -> Payload:
        """A new message in the channel each time: a digest is never updated."""
        post = {"channel": self._channel, **digest_message(digest), **NO_UNFURL}
        return self._call("chat.postMessage", post)

    async def upload_image(self, png: bytes, filename: str, title: str, ref: str) -> None:
        """Share `png` in the thread of message `ref` (`<channel id>:<ts>`).

        Slack's upload is three calls: ask for an upload URL (a form, not JSON), send the
        bytes there, then share the file; any failure raises `ReceiverError`.
        """
        channel, ts = _message_ref(ref, self._channel)
        auth = ("Authorization", f"Bearer {self._token.get_secret_value()}")
        form = urlencode({"filename": filename, "length": len(png)}).encode()
        ask = Payload(
            f"{self._api_url}/files.getUploadURLExternal",
            form,
            (("Content-Type", "application/x-www-form-urlencoded"), auth),
        )
        answer = await self._answer(ask)
        url, file_id = answer.get("upload_url"), answer.get("file_id")
        if not isinstance(url, str) or not isinstance(file_id, str):
            raise self._endpoint.error(
                "files.getUploadURLExternal answered without upload_url and file_id",
                retryable=False,
            )
        response = await self._endpoint.post(Payload(url, png, (auth,)))
        if not response.is_success:
            raise self._endpoint.refused(response, error_text(response.text))
        share = {"files": [{"id": file_id, "title": title}], "channel_id": channel, "thread_ts": ts}
        await self._answer(self._call("files.completeUploadExternal", share))

    def redact(self, text: str) -> str:
        return self._endpoint.redact(text)

    async def send(self, payload: Payload) -> Delivered:
        """Make each call in order; the first one's message is the reference to keep.

        A message that can no longer be updated (deleted, or too old to edit) is posted
        anew, and that new message becomes the group's.
        """
        ref: str | None = None
        moved: str | None = None  # the ts of a message posted in place of one gone
        for request in (payload, *payload.followups):
            if moved is not None:
                request = self._rethread(request, moved)
            try:
                answer = await self._answer(request)
            except _Gone:
                answer = await self._answer(self._repost(request))
                moved = str(answer.get("ts", ""))
            if ref is None and "channel" in answer and "ts" in answer:
                ref = f"{answer['channel']}:{answer['ts']}"
                self._channel_id = str(answer["channel"])
        return Delivered(ref)

    async def sent_before(self, n: Notification, payload: Payload) -> Delivered | None:
        """The group's first message, when an earlier attempt posted it (found by the id
        in its metadata). An update is not looked up: editing again changes nothing, and
        its thread reply cannot be (a bot token may not call `conversations.replies` on a
        channel), so that reply may repeat."""
        body = payload.json()
        if not payload.url.endswith("/chat.postMessage") or "thread_ts" in body:
            return None
        found = await self._find(n, "notification", n.id)
        return None if found is None else Delivered(found)

    async def group_message(self, n: Notification) -> str | None:
        """The message of `n`'s group that an unconfirmed post made, found by the group
        in its metadata, for `n` (a resolve) to update."""
        return await self._find(n, "group", n.group_key)

    async def _find(self, n: Notification, key: str, value: str) -> str | None:
        """`<channel id>:<ts>` of the newest message whose metadata has `key` = `value`,
        read from the channel's history a page at a time."""
        channel = self._channel_id
        if channel is None:
            raise self._endpoint.error(
                "cannot look for an earlier post: conversations.history needs the channel's"
                f" ID, and {self._channel!r} is a name",
                retryable=False,
            )
        cursor: str | None = None
        for _ in range(slack_history.MAX_PAGES):
            query = slack_history.history_query(channel, n, cursor, of_group=key == "group")
            answer = await self._answer(self._form("conversations.history", query))
            if (ts := slack_history.posted_ts(answer, key, value)) is not None:
                return f"{channel}:{ts}"
            if (cursor := slack_history.next_cursor(answer)) is None:
                return None
        return None

    def _form(self, method: str, fields: dict[str, str]) -> Payload:
        auth = ("Authorization", f"Bearer {self._token.get_secret_value()}")
        form = ("Content-Type", "application/x-www-form-urlencoded")
        return Payload(f"{self._api_url}/{method}", urlencode(fields).encode(), (form, auth))

    def _call(
        self, method: str, body: dict[str, Any], followups: tuple[Payload, ...] = ()
    ) -> Payload:
        auth = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        return json_payload(f"{self._api_url}/{method}", body, auth, followups)

    async def _answer(self, request: Payload) -> dict[str, Any]:
        """The JSON of a call Slack accepted; `{"ok": false}` in a 200 is a failure too."""
        method = request.url.rsplit("/", 1)[-1]
        response = await self._endpoint.post(request)
        if response.status_code != 200:
            raise self._endpoint.refused(response, f"{method}: {_api_error(response)}")
        answer = json_object(response)
        if answer is None:
            raise self._endpoint.error(
                f"{method} answered 200 without a JSON object: {error_text(response.text)}",
                retryable=True,
            )
        if answer.get("ok") is not True:
            raise self._api_failure(method, str(answer.get("error", "unknown_error")), response)
        return answer

    def _rethread(self, request: Payload, ts: str) -> Payload:
        """`request` replying in the thread of message `ts` instead of the one it named."""
        body = request.json()
        if "thread_ts" not in body:
            return request
        return self._call(request.url.rsplit("/", 1)[-1], {**body, "thread_ts": ts})

    def _repost(self, update: Payload) -> Payload:
        """The content of a `chat.update` as a new message in its channel."""
        body = update.json()
        post = {k: v for k, v in body.items() if k != "ts"}
        return self._call("chat.postMessage", {**post, **NO_UNFURL})

    def _api_failure(self, method: str, error: str, response: httpx.Response) -> ReceiverError:
        if method == "chat.update" and error in GONE_MESSAGE_ERRORS:
            return _Gone(error)
        retryable = error in RETRYABLE_API_ERRORS
        return self._endpoint.error(
            f"{method} failed: {error_text(error)}",
            retryable=retryable,
            retry_after=retry_after_seconds(response.headers) if retryable else None,
        )


class _Gone(ReceiverError):
    """`chat.update` found no message to update: post the content anew instead."""

    def __init__(self, error: str) -> None:
        super().__init__(f"chat.update: {error}", retryable=False)


def _alert_block(a: AlertSnapshot) -> SectionBlock:
    lines = [
        f"*{_fit(render.headline(a), HEADLINE_CHARS)}*",
        _fit(render.labels_text(a.labels), LABELS_CHARS),
        _fit(render.since_text(a), SINCE_CHARS),
        _fit(a.evidence, EVIDENCE_CHARS),
        _fit(render.summary(a), SUMMARY_CHARS),
        _fit(render.description(a), DESCRIPTION_CHARS),
    ]
    return SectionBlock(text=_mrkdwn("\n".join(line for line in lines if line)))


def _buttons(n: Notification) -> list[ButtonElement]:
    """A link button per alert page, runbook and dashboard (Slack allows 25 per block)."""
    return [
        ButtonElement(text=render.truncate(text, BUTTON_CHARS), url=url, action_id=f"link-{index}")
        for index, (text, url) in enumerate(render.group_links(n)[:MAX_BUTTONS])
        if len(url) <= URL_CHARS
    ]


def _context(n: Notification) -> ContextBlock:
    elements = [_mrkdwn(f"alertd · {render.rfc3339(n.created_at)}")]
    if n.status_url and len(n.status_url) <= URL_CHARS:
        elements.append(_mrkdwn(f"<{_link_target(n.status_url)}|Status page>"))
    return ContextBlock(elements=elements)


def _fallback(n: Notification, heading: str | None, body: str | None) -> str:
    """The notification text: the title, then the templated text or the first alerts, one
    line each."""
    title = _fit(templates.title(n, heading), FALLBACK_CHARS)
    if body is not None:
        return render.truncate(f"{title}\n{body.strip()}".strip(), FALLBACK_CHARS, render.utf16_len)
    lines = [render.title(n)]
    lines += [
        f"• {render.headline(a)} — {render.labels_text(a.labels)}"
        for a in n.alerts[:FALLBACK_ALERTS]
    ]
    if (hidden := len(n.alerts) - FALLBACK_ALERTS) > 0:
        lines.append(f"…and {hidden} more")
    return _fit("\n".join(lines), FALLBACK_CHARS)


def _fit(text: str, limit: int) -> str:
    """`text` escaped, cut so that the escaped form stays within `limit` UTF-16 units."""
    return escape(render.truncate(text, limit, _escaped_len))


def _escaped_len(text: str) -> int:
    return render.utf16_len(escape(text))


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: no auto-linking of URLs or channel names, no parsing of mentions.
    return MarkdownTextObject(text=text, verbatim=True)


def _link_target(url: str) -> str:
    """A URL usable inside `<url|label>`: `|`, `<` and `>` would end it early."""
    return escape(url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E"))


def _message_ref(ref: str, default_channel: str) -> tuple[str, str]:
    channel, sep, ts = ref.rpartition(":")
    return (channel, ts) if sep and channel else (default_channel, ref)


def _api_error(response: httpx.Response) -> str:
    answer = json_object(response)
    if answer is not None and "error" in answer:
        return error_text(str(answer["error"]))
    return error_text(response.text)


# About one message a second per webhook or channel (reference/notifiers.md).
KIND = ReceiverKind("slack", SlackConfig, build, rate=1.0)
