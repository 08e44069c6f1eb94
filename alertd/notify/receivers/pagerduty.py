"""PagerDuty Events API v2: one PagerDuty alert per group, triggered and resolved by key."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

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
)
from alertd.notify.receivers.fields import Integration, Secret, Template, Text

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_CHARS = 1024
FIELD_CHARS = 255  # source, component, group, class: no documented limit; keep them short
MAX_EVENT_BYTES = 512_000
# When the full details make the event too big: the alerts kept and each text's length.
DETAIL_ALERTS = 100
DETAIL_CHARS = 1024
# PagerDuty's `error` level sits between ours; no alertd severity maps to it.
SEVERITIES = {Severity.CRITICAL: "critical", Severity.WARNING: "warning"}


class PagerDutyConfig(Integration):
    """PagerDuty Events API v2: an integration's routing key and the endpoint, and the
    event's `summary`, `source`, `component`, `group` and `class`, each a plain string or
    a template over the notification (None: alertd's defaults)."""

    routing_key: Secret | None = None
    routing_key_file: Text | None = None
    url: Text = EVENTS_URL
    summary: Template | None = None
    source: Template | None = None
    component: Template | None = None
    group: Template | None = None
    class_: Template | None = Field(default=None, alias="class")

    @property
    def templates(self) -> dict[str, str]:
        """The event fields this receiver sets itself, by PagerDuty's name for them."""
        given = {"summary": self.summary, "source": self.source, "component": self.component}
        given |= {"group": self.group, "class": self.class_}
        return {key: text for key, text in given.items() if text is not None}

    @model_validator(mode="after")
    def _one_way(self) -> PagerDutyConfig:
        self._exactly_one("routing_key", "routing_key_file")
        return self


def build(config: PagerDutyConfig, context: BuildContext) -> PagerDutyReceiver:
    return PagerDutyReceiver(
        context.name,
        config.secret("routing_key"),
        client=context.client,
        url=config.url,
        templates=config.templates,
    )


def dedup_key(group_key: str) -> str:
    """`alertd-` and the SHA-256 of the group key: stable across restarts and versions,
    71 characters whatever the group key holds (PagerDuty allows 255)."""
    return "alertd-" + hashlib.sha256(group_key.encode("utf-8")).hexdigest()


def severity(n: Notification) -> str:
    """PagerDuty's severity for a notification: its worst firing severity, else `info`."""
    worst = render.severity(n)
    return "info" if worst is None else SEVERITIES.get(worst, "info")


class PagerDutyReceiver:
    """Sends `trigger` while a group fires and `resolve` when it clears, on one dedup_key."""

    def __init__(
        self,
        name: str,
        routing_key: SecretStr,
        *,
        client: httpx.AsyncClient,
        url: str = EVENTS_URL,
        source: str = "alertd",
        group_label: str = "team",
        templates: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """`templates`: `summary`, `source`, `component`, `group` and `class` as templates
        over the notification (checked when the file loaded), each replacing alertd's
        default."""
        if not source:
            raise ValueError("PagerDuty needs a non-empty event source")
        self.name = name
        self._routing_key = routing_key
        self._url = url
        self._source = source
        self._group_label = group_label
        self._templates = dict(templates or {})
        secrets = (routing_key.get_secret_value(),)
        self._endpoint = Endpoint(client, name, "pagerduty", timeout, secrets)

    def __repr__(self) -> str:
        return f"PagerDutyReceiver(name={self.name!r}, url={self._url!r})"

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """A `trigger` event while firing, else a `resolve`; the key needs no `previous_ref`."""
        event: dict[str, Any] = {
            "routing_key": self._routing_key.get_secret_value(),
            "event_action": "trigger" if n.firing else "resolve",
            "dedup_key": dedup_key(n.group_key),
        }
        if not n.firing:
            return json_payload(self._url, event)
        event["client"] = "alertd"
        links = render.group_links(n)
        page = next((url for text, url in links if text.startswith("Alert page")), None)
        if page or n.status_url:
            event["client_url"] = page or n.status_url
        if links:
            event["links"] = [{"href": url, "text": text} for text, url in links]
        return self._fitting(event, n)

    def redact(self, text: str) -> str:
        return self._endpoint.redact(text)

    async def send(self, payload: Payload) -> Delivered:
        """Any 2xx not saying otherwise is accepted; 400 never passes; 429 and 5xx may later."""
        response = await self._endpoint.post(payload)
        answer = json_object(response)
        if _accepted(response, answer):
            key = answer.get("dedup_key") if answer else None
            return Delivered(key if isinstance(key, str) else None)
        raise self._endpoint.refused(response, _error(response))

    def _fitting(self, event: dict[str, Any], n: Notification) -> Payload:
        """The trigger under PagerDuty's 512 KB: details shortened, else replaced by a note."""
        fields = self._fields(n)
        for max_alerts, text_chars in ((None, None), (DETAIL_ALERTS, DETAIL_CHARS)):
            custom = details(n, max_alerts, text_chars)
            payload = json_payload(
                self._url, {**event, "payload": {**fields, "custom_details": custom}}
            )
            if len(payload.body) <= MAX_EVENT_BYTES:
                return payload
        note = {"error": f"details removed: the event exceeded {MAX_EVENT_BYTES} bytes"}
        return json_payload(self._url, {**event, "payload": {**fields, "custom_details": note}})

    def _fields(self, n: Notification) -> dict[str, str]:
        """`payload` without its details; empty optional fields left out."""
        common = render.common(dict(a.labels) for a in n.alerts)
        defaults = {
            "summary": _summary(n),
            "source": self._source,
            "component": render.labels_text(n.group_labels),
            "group": common.get(self._group_label, ""),
            "class": ", ".join(render.rules(n)),
        }
        given = dict(defaults)
        context = templates.data(n) if self._templates else {}
        for key, source in self._templates.items():
            filled = templates.fill(source, context, setting=f"{self.name}.{key}")
            if key == "summary" and filled is not None:
                filled = templates.title(n, filled)  # marked [TEST] as the default is
            given[key] = defaults[key] if filled is None else filled
        for required in ("summary", "source"):  # PagerDuty refuses an event without them
            given[required] = given[required].strip() or defaults[required]
        summary = given.pop("summary")
        return {
            "summary": render.truncate(summary, SUMMARY_CHARS),
            "severity": severity(n),
            "timestamp": render.rfc3339(n.created_at),
            **{k: render.truncate(v, FIELD_CHARS) for k, v in given.items() if v},
        }


def details(
    n: Notification, max_alerts: int | None = None, text_chars: int | None = None
) -> dict[str, Any]:
    """`custom_details`: counts, group labels, and each alert's value, labels and texts."""
    shown = n.alerts if max_alerts is None else n.alerts[:max_alerts]
    result: dict[str, Any] = {
        "firing": len(render.firing(n)),
        "resolved": len(render.resolved(n)),
        "group_labels": dict(n.group_labels),
        "alerts": [_alert(a, text_chars) for a in shown],
    }
    if omitted := len(n.alerts) - len(shown):
        result["omitted_alerts"] = omitted
    return result


def _alert(a: AlertSnapshot, chars: int | None) -> dict[str, Any]:
    def cut(text: str) -> str:
        return text if chars is None else render.truncate(text, chars)

    return {
        "rule": a.rule,
        "status": "firing" if a.firing else "resolved",
        "severity": a.severity.value if a.severity else None,
        # JSON has no NaN or infinity; those go as text.
        "value": a.value if a.value is None or math.isfinite(a.value) else str(a.value),
        "value_text": render.value_text(a.value, a.unit),
        "note": a.note or None,
        "unit": a.unit,
        "threshold": a.threshold,
        "labels": {k: cut(v) for k, v in a.labels},
        "annotations": {k: cut(v) for k, v in a.annotations.items()},
        "starts_at": render.rfc3339(a.starts_at),
        "ends_at": render.rfc3339(a.ends_at) if a.ends_at else None,
        # What the sampled rows said, for a rule with `confidence`; absent otherwise.
        **({"evidence": cut(a.evidence)} if a.evidence else {}),
    }


def _summary(n: Notification) -> str:
    """The title, the worst firing value in its unit (and why it fires still, when the
    value looks clear), and the summary annotation when a single alert fires."""
    firing = render.firing(n)
    if not firing:
        return render.title(n)
    worst = max(firing, key=lambda a: a.severity.rank if a.severity else 0)
    parts = []
    if worst.value is not None or worst.threshold:  # a test notification has neither
        value = render.value_text(worst.value, worst.unit)
        threshold = f" (threshold {worst.threshold})" if worst.threshold else ""
        parts.append(value + threshold + (f", {worst.note}" if worst.note else ""))
    if len(firing) == 1 and (text := render.summary(firing[0])):
        parts.append(text)
    return f"{render.title(n)}: {' · '.join(parts)}" if parts else render.title(n)


def _accepted(response: httpx.Response, answer: dict[str, Any] | None) -> bool:
    """PagerDuty documents 202 only, but a 2xx is success as in Alertmanager, unless its
    body names another status: a refusal wrapped in a 2xx must not count as a page."""
    status = answer.get("status", "success") if answer else "success"
    return response.is_success and status == "success"


def _error(response: httpx.Response) -> str:
    """PagerDuty's `{"message", "errors": [...]}`, or the body's text."""
    answer = json_object(response)
    if answer is None:
        return error_text(response.text)
    errors = answer.get("errors")
    reasons = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    message = str(answer.get("message", ""))
    return error_text(": ".join(part for part in (message, reasons) if part) or response.text)


# Events API v2 takes 120 events a minute per routing key (reference/notifiers.md).
KIND = ReceiverKind("pagerduty", PagerDutyConfig, build, rate=2.0)
