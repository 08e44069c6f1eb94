"""A generic JSON webhook in Alertmanager's payload shape (version 4).

Tools that already read Alertmanager's webhooks read these, each alert's `fingerprint`
computed from its labels as Alertmanager computes it. A receiver may send a bearer token,
and may sign the exact body: `X-Alertd-Signature: sha256=<hex HMAC-SHA256>`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

from alertd.model import AlertSnapshot, Notification
from alertd.notify.am_fingerprint import am_fingerprint
from alertd.notify.receivers import render
from alertd.notify.receivers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    BuildContext,
    Delivered,
    Endpoint,
    Payload,
    ReceiverKind,
    error_text,
    json_payload,
    require_header_safe,
    url_secrets,
)
from alertd.notify.receivers.fields import Integration, Secret, Text

VERSION = "4"
SIGNATURE_HEADER = "X-Alertd-Signature"
NOTIFICATION_HEADER = "X-Alertd-Notification-Id"
# The same id under the IETF draft's name, which idempotent endpoints look for: a receiver
# that saw it before can drop the repeat a new leader may make of a send in doubt.
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Alertmanager's "no end yet": Go's zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"


class WebhookConfig(Integration):
    """Alertmanager-shaped JSON to any URL, with an optional bearer token or HMAC signature."""

    url: Secret | None = None
    url_file: Text | None = None
    bearer_token: Secret | None = None
    bearer_token_file: Text | None = None
    hmac_secret: Secret | None = None
    hmac_secret_file: Text | None = None
    max_alerts: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_way(self) -> WebhookConfig:
        self._exactly_one("url", "url_file")
        self._exactly_one("bearer_token", "bearer_token_file", required=False)
        self._exactly_one("hmac_secret", "hmac_secret_file", required=False)
        return self


def build(config: WebhookConfig, context: BuildContext) -> WebhookReceiver:
    return WebhookReceiver(
        context.name,
        config.secret("url"),
        client=context.client,
        bearer_token=config.bearer_token,
        hmac_secret=config.hmac_secret,
        max_alerts=config.max_alerts,
    )


def document(n: Notification, max_alerts: int = 0) -> dict[str, Any]:
    """Alertmanager's webhook body for `n`; `max_alerts` > 0 keeps only that many alerts."""
    alerts = [_alert(a, render.alert_url(n, a)) for a in n.alerts]
    shown = alerts[:max_alerts] if max_alerts > 0 else alerts
    return {
        "version": VERSION,
        "groupKey": n.group_key,
        "truncatedAlerts": len(alerts) - len(shown),
        "status": "firing" if n.firing else "resolved",
        "receiver": n.receiver,
        "groupLabels": dict(n.group_labels),
        "commonLabels": render.common(render.alert_labels(a) for a in n.alerts),
        "commonAnnotations": render.common(render.annotations_with_evidence(a) for a in n.alerts),
        "externalURL": n.status_url or "",
        "alerts": shown,
    }


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookReceiver:
    """POSTs Alertmanager-shaped JSON to any URL, optionally with a token or a signature."""

    def __init__(
        self,
        name: str,
        url: SecretStr,
        *,
        client: httpx.AsyncClient,
        bearer_token: SecretStr | None = None,
        hmac_secret: SecretStr | None = None,
        max_alerts: int = 0,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if bearer_token is not None:
            require_header_safe(bearer_token.get_secret_value(), "webhook bearer token")
        self.name = name
        self._url = url
        self._bearer_token = bearer_token
        self._hmac_secret = hmac_secret
        self._max_alerts = max_alerts
        secrets = url_secrets(url.get_secret_value()) + tuple(
            s.get_secret_value() for s in (bearer_token, hmac_secret) if s is not None
        )
        self._endpoint = Endpoint(client, name, "webhook", timeout, secrets)

    def __repr__(self) -> str:
        return f"WebhookReceiver(name={self.name!r})"

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """The JSON body, with its notification id, token and signature headers."""
        url = self._url.get_secret_value()
        unsigned = json_payload(url, document(n, self._max_alerts))
        headers = {**dict(unsigned.headers), NOTIFICATION_HEADER: n.id, IDEMPOTENCY_HEADER: n.id}
        if self._bearer_token is not None:
            headers["Authorization"] = f"Bearer {self._bearer_token.get_secret_value()}"
        if self._hmac_secret is not None:
            headers[SIGNATURE_HEADER] = signature(
                self._hmac_secret.get_secret_value(), unsigned.body
            )
        return Payload(url, unsigned.body, tuple(headers.items()))

    def redact(self, text: str) -> str:
        return self._endpoint.redact(text)

    async def send(self, payload: Payload) -> Delivered:
        """Any 2xx is delivered; 408, 429 and 5xx may pass later."""
        response = await self._endpoint.post(payload)
        if response.is_success:
            return Delivered()
        raise self._endpoint.refused(response, error_text(response.text))


def _alert(a: AlertSnapshot, page_url: str | None) -> dict[str, Any]:
    labels = render.alert_labels(a)
    return {
        "status": "firing" if a.firing else "resolved",
        "labels": labels,
        "annotations": render.annotations_with_evidence(a),
        "startsAt": render.rfc3339(a.starts_at),
        "endsAt": render.rfc3339(a.ends_at) if a.ends_at else ZERO_TIME,
        "generatorURL": page_url or "",
        "fingerprint": am_fingerprint(labels),
    }


KIND = ReceiverKind("webhook", WebhookConfig, build, rate=10.0)
