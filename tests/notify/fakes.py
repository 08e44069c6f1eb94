"""Local stand-ins for Slack, Teams, PagerDuty and a plain webhook endpoint.

One uvicorn server on 127.0.0.1 serves them all. Each fake checks every payload it
receives against its service's rules (Slack's block models, the Adaptive Card 1.5 schema,
PagerDuty's Events v2 field rules, Alertmanager's webhook shape) and records what it found
wrong; each can be told to answer the next requests with a 429, a 5xx, a slow answer past
the client's timeout, or a connection dropped mid-answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import httpx
import jsonschema
import uvicorn
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from alertd.model import AlertSnapshot, Labels, Notification, Severity
from alertd.notify.receivers.base import Payload

# The official Adaptive Card 1.5 schema (MIT, see the LICENSE file beside it).
ORACLE = Path(__file__).resolve().parents[1] / "oracles/adaptive-card-1.5.schema.json"
TEAMS_LIMIT_BYTES = 28 * 1024
PAGERDUTY_LIMIT_BYTES = 512_000
SLACK_BOT_TOKEN = "xoxb-1234-5678-slackBOTtokenSECRET"
SLACK_CHANNEL_ID = "C0FAKE0001"
WEBHOOK_HMAC_SECRET = "webhookHMACsecret0001"
WEBHOOK_BEARER_TOKEN = "webhookBEARERsecret0001"
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Answer:
    """What a fake answers: a body (a dict goes as JSON), or a slow or dropped answer."""

    status: int = 200
    body: str | dict[str, Any] = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering; tests set a shorter client timeout
    drop: bool = False  # promise a body, send part of it, close the connection


@dataclass(frozen=True)
class Received:
    """One request as a fake saw it; header names in lower case."""

    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def received(payload: Payload) -> Received:
    """A rendered payload as a fake would receive it, to check without a socket."""
    headers = {name.lower(): value for name, value in payload.headers}
    return Received(urlsplit(payload.url).path, headers, payload.body)


Check = Callable[[Received], list[str]]
Reply = Callable[[Received, list[str]], Answer]


class Service:
    """One fake service: what it received, what was wrong with it, what it answers next."""

    def __init__(self, name: str, check: Check, reply: Reply) -> None:
        self.name = name
        self.check = check
        self._reply = reply
        self.requests: list[Received] = []
        self.problems: list[str] = []
        self._script: deque[Answer] = deque()

    def then(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order, before answering normally again."""
        self._script.extend(answers)

    def handle(self, request: Received) -> Answer:
        self.requests.append(request)
        problems = self.check(request)
        self.problems += [f"{self.name} {request.path}: {p}" for p in problems]
        return self._script.popleft() if self._script else self._reply(request, problems)

    def reset(self) -> None:
        self.requests.clear()
        self.problems.clear()
        self._script.clear()


class SlackApi(Service):
    """Slack's Web API for `chat.postMessage` and `chat.update`, keeping the messages, and
    its three-step file upload (`files.getUploadURLExternal`, the bytes to the URL it
    gives, `files.completeUploadExternal`), keeping the files shared."""

    def __init__(self, base_url: str = "") -> None:
        super().__init__("slack api", slack_api_problems, self._answer)
        self.messages: dict[str, dict[str, Any]] = {}
        self.base_url = base_url
        # Messages' ts count up from here; a test on the wall clock moves it to now.
        self.epoch = 1740830400
        self.upload_lengths: dict[str, int] = {}  # file id: the length announced
        self.uploaded: dict[str, bytes] = {}
        self.shared: list[dict[str, Any]] = []  # each files.completeUploadExternal body

    def reset(self) -> None:
        super().reset()
        self.messages.clear()
        self.upload_lengths.clear()
        self.uploaded.clear()
        self.shared.clear()

    def receive_file(self, request: Received, problems: list[str]) -> Answer:
        """The upload URL: the file's bytes, as many as were announced."""
        file_id = request.path.rsplit("/", 1)[-1]
        if self.upload_lengths.get(file_id) != len(request.body):
            return Answer(400, "length does not match")
        self.uploaded[file_id] = request.body
        return Answer(200, "OK - " + str(len(request.body)))

    def _files(self, request: Received, method: str) -> Answer:
        if method == "files.getUploadURLExternal":
            form = parse_qs(request.body.decode())
            file_id = f"F{len(self.upload_lengths) + 1:08d}"
            self.upload_lengths[file_id] = int(form["length"][0])
            url = f"{self.base_url}/slack/files/{file_id}"
            return Answer(200, {"ok": True, "upload_url": url, "file_id": file_id})
        body = request.json()
        ids = [f["id"] for f in body["files"]]
        if any(i not in self.uploaded for i in ids):
            return Answer(200, {"ok": False, "error": "file_upload_not_completed"})
        if body.get("thread_ts") is not None and body["thread_ts"] not in self.messages:
            return Answer(200, {"ok": False, "error": "thread_not_found"})
        self.shared.append(body)
        return Answer(200, {"ok": True, "files": [{"id": i} for i in ids]})

    def _answer(self, request: Received, problems: list[str]) -> Answer:
        if request.headers.get("authorization") != f"Bearer {SLACK_BOT_TOKEN}":
            return Answer(200, {"ok": False, "error": "invalid_auth"})
        method = request.path.rsplit("/", 1)[-1]
        if problems:
            error = "invalid_arguments" if method.startswith("files.") else "invalid_blocks"
            return Answer(200, {"ok": False, "error": error})
        if method.startswith("files."):
            return self._files(request, method)
        if method == "conversations.history":
            return self._history({k: v[0] for k, v in parse_qs(request.body.decode()).items()})
        body = request.json()
        if body.get("channel") not in ("#alerts", SLACK_CHANNEL_ID):
            return Answer(200, {"ok": False, "error": "channel_not_found"})
        if method == "chat.update":
            if body["ts"] not in self.messages:
                return Answer(200, {"ok": False, "error": "message_not_found"})
            # Metadata not given is left as it was, as Slack's chat.update does.
            before = self.messages[body["ts"]]
            kept = {"metadata": before["metadata"]} if "metadata" in before else {}
            self.messages[body["ts"]] = {**kept, **body}
            return Answer(200, {"ok": True, "channel": SLACK_CHANNEL_ID, "ts": body["ts"]})
        if "thread_ts" in body and body["thread_ts"] not in self.messages:
            return Answer(200, {"ok": False, "error": "thread_not_found"})
        ts = f"{self.epoch}.{len(self.messages) + 1:06d}"
        self.messages[ts] = body
        return Answer(200, {"ok": True, "channel": SLACK_CHANNEL_ID, "ts": ts})

    def _history(self, form: Mapping[str, str]) -> Answer:
        """The channel's messages after `oldest`, newest first, `limit` a page; thread
        replies are not listed, and metadata only with `include_all_metadata`, as Slack."""
        if form.get("channel") != SLACK_CHANNEL_ID:
            return Answer(200, {"ok": False, "error": "channel_not_found"})
        oldest = float(form.get("oldest", "0"))
        listed = [
            (ts, body)
            for ts, body in sorted(self.messages.items(), key=lambda m: float(m[0]), reverse=True)
            if "thread_ts" not in body and float(ts) > oldest
        ]
        start = int(form.get("cursor") or 0)
        limit = int(form.get("limit", "100"))
        page = listed[start : start + limit]
        with_metadata = form.get("include_all_metadata") in ("true", "1")
        messages = [
            {
                "type": "message",
                "ts": ts,
                "text": body.get("text", ""),
                **({"metadata": body["metadata"]} if with_metadata and "metadata" in body else {}),
            }
            for ts, body in page
        ]
        more = start + limit < len(listed)
        cursor = str(start + limit) if more else ""
        return Answer(
            200,
            {
                "ok": True,
                "messages": messages,
                "has_more": more,
                "response_metadata": {"next_cursor": cursor},
            },
        )


class FakeServices:
    """The ASGI app behind every fake, routed by path prefix."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.slack_webhook = Service("slack webhook", slack_webhook_problems, _slack_reply)
        self.slack_api = SlackApi(base_url)
        self.slack_files = Service("slack files", slack_file_problems, self.slack_api.receive_file)
        self.teams = Service("teams", teams_problems, lambda r, p: Answer(202))
        self.pagerduty = Service("pagerduty", pagerduty_problems, _pagerduty_reply)
        self.webhook = Service("webhook", webhook_problems, lambda r, p: Answer(200, "ok"))
        self._routes = {
            "/slack/hooks/": self.slack_webhook,
            "/slack/api/": self.slack_api,
            "/slack/files/": self.slack_files,
            "/teams/": self.teams,
            "/pagerduty/": self.pagerduty,
            "/webhook/": self.webhook,
        }
        self._release = threading.Event()
        # Seconds every service takes to answer (a slow Slack or PagerDuty), unless a
        # scripted answer says otherwise.
        self.answer_delay = 0.0

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self._routes.values())

    def problems(self) -> list[str]:
        return [p for s in self.services for p in s.problems]

    def reset(self) -> None:
        """Forget everything and let any slow answer still waiting finish at once."""
        self._release.set()
        self._release = threading.Event()
        self.answer_delay = 0.0
        for service in self.services:
            service.reset()

    @contextmanager
    def checked(self) -> Iterator[FakeServices]:
        """Start clean; at the end, fail if any fake found a payload wrong."""
        self.reset()
        try:
            yield self
            assert self.problems() == []
        finally:
            self.reset()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        service = next((s for p, s in self._routes.items() if path.startswith(p)), None)
        if service is None:
            await _respond(send, Answer(200, "ok") if path == "/health" else Answer(404))
            return
        answer = service.handle(Received(path, headers, body))
        if delay := answer.delay or self.answer_delay:
            await anyio.to_thread.run_sync(self._release.wait, delay)
        await _respond(send, answer)


@contextmanager
def serving() -> Iterator[FakeServices]:
    """Run every fake on 127.0.0.1 on a free port for the duration of the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    host, port = listener.getsockname()
    fakes = FakeServices(f"http://{host}:{port}")
    config = uvicorn.Config(fakes, log_level="critical", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        # The probe waits in the listen backlog until the server accepts: no polling sleep.
        with httpx.Client(base_url=fakes.base_url, timeout=10) as http:
            http.get("/health").raise_for_status()
        yield fakes
    finally:
        fakes.reset()
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on, for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the checks -------------------------------------------------------------------------

SLACK_BODY_KEYS = {"text", "blocks", "attachments", "unfurl_links", "unfurl_media", "metadata"}
SLACK_POST_KEYS = SLACK_BODY_KEYS | {"channel", "thread_ts", "reply_broadcast"}
SLACK_UPDATE_KEYS = {"channel", "ts", "text", "blocks", "attachments", "metadata"}
SLACK_TEXT_LIMITS = {"header": 150, "section": 3000, "context": 3000, "image": 2000}
# Inside escaped text the only `<…>` left are our links, and every `&` starts an entity.
SLACK_LINK = re.compile(r"<https?://[^|<>\s]+\|[^<>]*>")
SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")


def slack_webhook_problems(request: Received) -> list[str]:
    body = _json(request)
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    return _unknown_keys(body, SLACK_BODY_KEYS) + slack_message_problems(body)


SLACK_SHARE_KEYS = {"files", "channel_id", "channels", "thread_ts", "initial_comment", "blocks"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def slack_file_problems(request: Received) -> list[str]:
    if not request.body.startswith(PNG_SIGNATURE):
        return ["not a PNG"]
    return []


def slack_upload_problems(request: Received) -> list[str]:
    """files.getUploadURLExternal takes form fields, not JSON; completeUploadExternal a
    list of files and where to share them."""
    method = request.path.rsplit("/", 1)[-1]
    if method == "files.getUploadURLExternal":
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return ["files.getUploadURLExternal takes a form, not JSON"]
        form = parse_qs(request.body.decode())
        if not form.get("filename") or not form.get("length", [""])[0].isdigit():
            return ["needs filename and a numeric length"]
        return []
    body = _json(request)
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    files = body.get("files")
    problems = _unknown_keys(body, SLACK_SHARE_KEYS)
    if not isinstance(files, list) or not files or not all("id" in f for f in files):
        problems.append("files must list at least one {id}")
    if "thread_ts" in body and body.get("channel_id") != SLACK_CHANNEL_ID:
        problems.append("a file shared in a thread needs its channel's ID")
    return problems


SLACK_HISTORY_KEYS = {
    "channel",
    "cursor",
    "include_all_metadata",
    "inclusive",
    "latest",
    "limit",
    "oldest",
}


def slack_history_problems(request: Received) -> list[str]:
    """conversations.history as a form: a channel, and only the arguments Slack documents."""
    if request.headers.get("content-type") != "application/x-www-form-urlencoded":
        return ["conversations.history is sent as a form here"]
    form = parse_qs(request.body.decode())
    problems = _unknown_keys(form, SLACK_HISTORY_KEYS)
    if not form.get("channel"):
        problems.append("conversations.history without a channel")
    if not 1 <= int(form.get("limit", ["100"])[0]) <= 999:
        problems.append("limit must be 1 to 999")
    return problems


def slack_api_problems(request: Received) -> list[str]:
    if request.path.rsplit("/", 1)[-1].startswith("files."):
        return slack_upload_problems(request)
    if request.path.endswith("/conversations.history"):
        return slack_history_problems(request)
    body = _json(request)
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    update = request.path.endswith("/chat.update")
    problems = _unknown_keys(body, SLACK_UPDATE_KEYS if update else SLACK_POST_KEYS)
    if update and "ts" not in body:
        problems.append("chat.update without ts")
    problems += slack_metadata_problems(body.get("metadata"))
    if "blocks" not in body and "thread_ts" in body:
        return problems + _slack_text_problems("text", body.get("text"), 40_000)
    return problems + slack_message_problems(body)


def slack_metadata_problems(meta: Any) -> list[str]:
    """Message metadata: an alphanumeric `event_type` and an `event_payload` object."""
    if meta is None:
        return []
    if not isinstance(meta, dict) or set(meta) != {"event_type", "event_payload"}:
        return ["metadata needs exactly event_type and event_payload"]
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9_]+", str(meta["event_type"])):
        problems.append("metadata event_type must be alphanumeric")
    if not isinstance(meta["event_payload"], dict):
        problems.append("metadata event_payload must be an object")
    return problems


def slack_message_problems(body: Mapping[str, Any]) -> list[str]:
    """A message's fallback text and blocks, as Slack's limits and slack-sdk's models see them."""
    problems = _slack_text_problems("text", body.get("text"), 40_000)
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        return [*problems, f"needs 1 to 50 blocks, has {len(blocks or [])}"]
    for index, block in enumerate(blocks):
        parsed = Block.parse(block)
        if parsed is None:
            problems.append(f"block {index} is of no known type")
            continue
        try:
            if parsed.to_dict() != block:
                problems.append(f"block {index} does not survive a parse")
        except SlackObjectFormationError as exc:
            problems.append(f"block {index}: {exc}")
        if block.get("type") == "actions":
            problems += _slack_button_problems(index, block.get("elements", []))
            continue
        limit = SLACK_TEXT_LIMITS.get(block.get("type"), 3000)
        for text in _block_texts(block):
            problems += _slack_text_problems(f"block {index}", text, limit)
    return problems


def teams_problems(request: Received) -> list[str]:
    """The Workflows envelope, the card against the 1.5 schema, and the 28 KB limit."""
    problems = []
    if len(request.body) >= TEAMS_LIMIT_BYTES:
        problems.append(f"{len(request.body)} bytes, Teams takes < {TEAMS_LIMIT_BYTES}")
    body = _json(request)
    attachments = body.get("attachments") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("type") != "message" or not attachments:
        return [*problems, "not a message with attachments"]
    if len(attachments) != 1 or set(attachments[0]) != {"contentType", "contentUrl", "content"}:
        return [*problems, "needs exactly one attachment of contentType, contentUrl, content"]
    attachment = attachments[0]
    if attachment["contentType"] != "application/vnd.microsoft.card.adaptive":
        problems.append(f"contentType {attachment['contentType']!r}")
    if attachment["contentUrl"] is not None:
        problems.append("contentUrl must be null")
    card = {k: v for k, v in attachment["content"].items() if k != "msteams"}
    problems += [f"schema: {e.message}"[:300] for e in _card_validator().iter_errors(card)]
    if _version(str(card.get("version", "9"))) > (1, 5):
        problems.append(f"card version {card.get('version')} is above Teams' 1.5")
    return problems + _newer_than_1_4(card)


PD_EVENT_KEYS = {
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "images",
    "links",
    "client",
    "client_url",
}
PD_PAYLOAD_KEYS = {
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
}


def pagerduty_problems(request: Received) -> list[str]:
    """Events API v2: fields, lengths and enums the service enforces (PD's schema has no
    maxLength, so the 1024 and 255 come from its docs)."""
    event = _json(request)
    if not isinstance(event, dict):
        return ["body is not a JSON object"]
    problems = _unknown_keys(event, PD_EVENT_KEYS)
    if len(request.body) > PAGERDUTY_LIMIT_BYTES:
        problems.append(f"{len(request.body)} bytes, PagerDuty takes {PAGERDUTY_LIMIT_BYTES}")
    if not isinstance(event.get("routing_key"), str) or len(event["routing_key"]) != 32:
        problems.append("routing_key must be 32 characters")
    if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        problems.append(f"event_action {event.get('event_action')!r}")
    key = event.get("dedup_key")
    if not isinstance(key, str) or not 1 <= len(key) <= 255:
        problems.append("dedup_key must be 1 to 255 characters")
    for link in event.get("links", []):
        if not isinstance(link, dict) or not link.get("href"):
            problems.append("a link without href")
    if event.get("event_action") == "trigger":
        problems += _pagerduty_payload_problems(event.get("payload"))
    return problems


AM_KEYS = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
AM_ALERT_KEYS = {
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
}


def webhook_problems(request: Received) -> list[str]:
    """Alertmanager's webhook shape, and the signature or token when one is sent."""
    problems = []
    signature = request.headers.get("x-alertd-signature")
    if signature is not None:
        digest = hmac.new(WEBHOOK_HMAC_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, f"sha256={digest}"):
            problems.append("the signature does not match the body")
    auth = request.headers.get("authorization")
    if auth is not None and auth != f"Bearer {WEBHOOK_BEARER_TOKEN}":
        problems.append("wrong bearer token")
    body = _json(request)
    if not isinstance(body, dict) or set(body) != AM_KEYS:
        return [*problems, "not Alertmanager's set of keys"]
    if body["version"] != "4" or body["status"] not in ("firing", "resolved"):
        problems.append(f"version {body['version']!r}, status {body['status']!r}")
    for alert in body["alerts"]:
        if set(alert) != AM_ALERT_KEYS or alert["status"] not in ("firing", "resolved"):
            problems.append(f"alert with keys {sorted(alert)} and status {alert.get('status')}")
            continue
        for stamp in (alert["startsAt"], alert["endsAt"]):
            if not stamp.endswith("Z") or _when(stamp) is None:
                problems.append(f"time {stamp!r} is not RFC 3339 UTC")
    return problems


# --- sample notifications --------------------------------------------------------------


def alert(
    rule: str = "SlowQueryP95",
    labels: Labels = (("table", "users"), ("env", "prod")),
    *,
    firing: bool = True,
    severity: Severity | None = Severity.CRITICAL,
    value: float | None = 212.3456,
    annotations: Mapping[str, str] | None = None,
    fingerprint: str = "5f2c1d9e8a7b6c4d",
) -> AlertSnapshot:
    return AlertSnapshot(
        fingerprint=fingerprint,
        rule=rule,
        labels=labels,
        firing=firing,
        severity=severity if firing else None,
        value=value,
        threshold="> 200",
        annotations=(
            annotations
            if annotations is not None
            else {"summary": "P95 query time on users is 212 ms", "description": "See the runbook."}
        ),
        starts_at=T0 - dt.timedelta(minutes=5),
        ends_at=None if firing else T0,
    )


def notification(
    *alerts: AlertSnapshot,
    firing: bool | None = None,
    group_key: str = '{}/{team="database"}:{table="users"}',
    status_url: str | None = "https://alertd.example",
    test: bool = False,
) -> Notification:
    shown = alerts or (alert(),)
    return Notification(
        id="n-0001",
        receiver="ops",
        group_key=group_key,
        group_labels=(("table", "users"),),
        firing=any(a.firing for a in shown) if firing is None else firing,
        alerts=shown,
        created_at=T0,
        status_url=status_url,
        test=test,
    )


def resolved(n: Notification) -> Notification:
    """The same group, every alert resolved."""
    alerts = tuple(
        alert(a.rule, a.labels, firing=False, fingerprint=a.fingerprint) for a in n.alerts
    )
    return Notification(
        id=n.id + "-resolved",
        receiver=n.receiver,
        group_key=n.group_key,
        group_labels=n.group_labels,
        firing=False,
        alerts=alerts,
        created_at=T0 + dt.timedelta(minutes=10),
        status_url=n.status_url,
        test=n.test,
    )


# --- helpers -----------------------------------------------------------------------------


async def _respond(send: Any, answer: Answer) -> None:
    if isinstance(answer.body, dict):
        content, kind = json.dumps(answer.body).encode(), "application/json"
    else:
        content, kind = answer.body.encode(), "text/plain; charset=utf-8"
    length = len(content) + 64 if answer.drop else len(content)
    headers = [
        (b"content-type", kind.encode()),
        (b"content-length", str(length).encode()),
        *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    # A dropped answer stops short of its promised length; returning early makes uvicorn
    # close the connection, as a peer that dies mid-answer would.
    await send({"type": "http.response.body", "body": content, "more_body": answer.drop})


def _slack_reply(request: Received, problems: list[str]) -> Answer:
    return Answer(400, "invalid_blocks") if problems else Answer(200, "ok")


def _pagerduty_reply(request: Received, problems: list[str]) -> Answer:
    if problems:
        return Answer(
            400,
            {"status": "invalid event", "message": "Event object is invalid", "errors": problems},
        )
    key = request.json()["dedup_key"]
    return Answer(202, {"status": "success", "message": "Event processed", "dedup_key": key})


def _pagerduty_payload_problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["a trigger needs a payload"]
    problems = _unknown_keys(payload, PD_PAYLOAD_KEYS)
    summary = payload.get("summary")
    if not isinstance(summary, str) or not 1 <= len(summary) <= 1024:
        problems.append("payload.summary must be 1 to 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        problems.append("payload.source is required")
    if payload.get("severity") not in ("critical", "error", "warning", "info"):
        problems.append(f"payload.severity {payload.get('severity')!r}")
    if "timestamp" in payload and _when(payload["timestamp"]) is None:
        problems.append(f"payload.timestamp {payload['timestamp']!r} is not ISO 8601")
    if not isinstance(payload.get("custom_details", {}), dict):
        problems.append("payload.custom_details must be an object")
    return problems


def _slack_text_problems(where: str, text: Any, limit: int) -> list[str]:
    if not isinstance(text, str) or not text:
        return [f"{where}: text missing or empty"]
    problems = []
    units = len(text.encode("utf-16-le")) // 2
    if units > limit:
        problems.append(f"{where}: {units} UTF-16 units, the limit is {limit}")
    if "<" in SLACK_LINK.sub("", text) or ">" in SLACK_LINK.sub("", text):
        problems.append(f"{where}: unescaped control sequence in {text[:80]!r}")
    if "&" in SLACK_ENTITY.sub("", text):
        problems.append(f"{where}: unescaped & in {text[:80]!r}")
    return problems


def _slack_button_problems(index: int, elements: list[Any]) -> list[str]:
    """Link buttons: at most 25, text within 75 characters, an http(s) URL within 3000."""
    problems = [] if 1 <= len(elements) <= 25 else [f"block {index}: 1 to 25 elements"]
    for element in elements:
        if element.get("type") != "button":
            problems.append(f"block {index}: {element.get('type')!r} is not a button")
            continue
        problems += _slack_text_problems(f"block {index} button", element["text"]["text"], 75)
        url = element.get("url", "")
        if not re.match(r"^https?://\S+$", url) or len(url) > 3000:
            problems.append(f"block {index}: button url {url[:80]!r}")
    return problems


def _block_texts(block: Mapping[str, Any]) -> list[Any]:
    if block.get("type") == "context":
        return [element.get("text") for element in block.get("elements", [])]
    if block.get("type") == "image":  # no text of its own: the alt text must be there
        title = block.get("title")
        return [block.get("alt_text"), *([title.get("text")] if isinstance(title, dict) else [])]
    text = block.get("text")
    return [text.get("text") if isinstance(text, dict) else text]


def _unknown_keys(body: Mapping[str, Any], known: set[str]) -> list[str]:
    unknown = sorted(set(body) - known)
    return [f"unknown keys {unknown}"] if unknown else []


@cache
def _card_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(ORACLE.read_text())
    return schema


@cache
def _card_validator() -> Any:
    schema = _card_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def _newer_than_1_4(node: Any) -> list[str]:
    """Elements that need a card version above 1.4, which Workflows cannot act on."""
    if isinstance(node, list):
        return [p for item in node for p in _newer_than_1_4(item)]
    if not isinstance(node, dict):
        return []
    problems = [p for value in node.values() for p in _newer_than_1_4(value)]
    definition = _card_schema()["definitions"].get(node.get("type"), {})
    if _version(definition.get("version", "1.0")) > (1, 4):
        problems.append(f"{node['type']} needs card version {definition['version']}")
    return problems


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (99,)


def _when(text: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _json(request: Received) -> Any:
    try:
        return request.json()
    except ValueError:
        return None


async def read_body(receive: Any) -> bytes:
    """The whole body of an ASGI request."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
