"""Forwards alerts to an existing Alertmanager (`POST /api/v2/alerts`), so a team that has
one can use alertd as the rule evaluator only and keep its routing and receivers there.

Each notification posts its alerts as Alertmanager's `postableAlerts`: labels (with
`alertname` and `severity`), annotations, `startsAt`, `generatorURL`, and `endsAt` once
resolved. A firing alert is posted without `endsAt`, so Alertmanager resolves it by itself
after its `resolve_timeout` unless posted again: the route to this receiver should have a
`repeat_interval` shorter than that.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr, model_validator

from alertd.model import AlertSnapshot, Notification
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

API_PATH = "/api/v2/alerts"


class AlertmanagerConfig(Integration):
    """Where Alertmanager listens (its base URL), and a bearer token if it wants one."""

    url: Secret | None = None
    url_file: Text | None = None
    bearer_token: Secret | None = None
    bearer_token_file: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> AlertmanagerConfig:
        self._exactly_one("url", "url_file")
        self._exactly_one("bearer_token", "bearer_token_file", required=False)
        return self


def build(config: AlertmanagerConfig, context: BuildContext) -> AlertmanagerReceiver:
    return AlertmanagerReceiver(
        context.name,
        config.secret("url"),
        client=context.client,
        bearer_token=config.bearer_token,
    )


def postable_alerts(n: Notification) -> list[dict[str, Any]]:
    """The notification's alerts as Alertmanager's API takes them."""
    return [_alert(a, render.alert_url(n, a)) for a in n.alerts]


class AlertmanagerReceiver:
    """POSTs a notification's alerts to Alertmanager's v2 API."""

    def __init__(
        self,
        name: str,
        url: SecretStr,
        *,
        client: httpx.AsyncClient,
        bearer_token: SecretStr | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if bearer_token is not None:
            require_header_safe(bearer_token.get_secret_value(), "Alertmanager bearer token")
        self.name = name
        self._url = url.get_secret_value().rstrip("/") + API_PATH
        self._bearer_token = bearer_token
        secrets = url_secrets(url.get_secret_value()) + tuple(
            s.get_secret_value() for s in (bearer_token,) if s is not None
        )
        self._endpoint = Endpoint(client, name, "alertmanager", timeout, secrets)

    def __repr__(self) -> str:
        return f"AlertmanagerReceiver(name={self.name!r})"

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        """The alerts as a JSON array, with the token when one is set, and the notification's
        id as `Idempotency-Key` (Alertmanager merges a repeat by labels all the same)."""
        headers = {"Idempotency-Key": n.id}
        if self._bearer_token is not None:
            headers["Authorization"] = f"Bearer {self._bearer_token.get_secret_value()}"
        return json_payload(self._url, postable_alerts(n), headers)

    def redact(self, text: str) -> str:
        return self._endpoint.redact(text)

    async def send(self, payload: Payload) -> Delivered:
        """Alertmanager answers 200; 408, 429 and 5xx may pass later, others not."""
        response = await self._endpoint.post(payload)
        if response.is_success:
            return Delivered()
        raise self._endpoint.refused(response, error_text(response.text))


def _alert(a: AlertSnapshot, page_url: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "labels": render.alert_labels(a),
        "annotations": render.annotations_with_evidence(a),
        "startsAt": render.rfc3339(a.starts_at),
    }
    if page_url:
        found["generatorURL"] = page_url
    if not a.firing and a.ends_at is not None:
        found["endsAt"] = render.rfc3339(a.ends_at)
    return found


KIND = ReceiverKind("alertmanager", AlertmanagerConfig, build, rate=10.0)
