"""The generic webhook: Alertmanager's body, byte for byte, signed when asked."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest
from pydantic import SecretStr

from alertd.notify.am_fingerprint import am_fingerprint
from alertd.notify.receivers import Delivered, WebhookReceiver
from alertd.notify.receivers.webhook import document, signature
from tests.notify import fakes
from tests.notify.fakes import FakeServices, alert, notification, resolved

pytestmark = pytest.mark.anyio

URL = "https://hooks.example/alertd"


def webhook(**secrets: SecretStr) -> WebhookReceiver:
    return WebhookReceiver("ops", SecretStr(URL), client=httpx.AsyncClient(), **secrets)


def test_the_body_is_alertmanagers_version_4_shape() -> None:
    pitches = alert(labels=(("table", "pitches"), ("env", "prod")), fingerprint="0" * 16)
    n = notification(alert(), pitches)

    assert document(n) == {
        "version": "4",
        "groupKey": '{}/{team="database"}:{table="users"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "ops",
        "groupLabels": {"table": "users"},
        "commonLabels": {"alertname": "SlowQueryP95", "env": "prod", "severity": "critical"},
        "commonAnnotations": {
            "summary": "P95 query time on users is 212 ms",
            "description": "See the runbook.",
        },
        "externalURL": "https://alertd.example",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "SlowQueryP95",
                    "table": table,
                    "env": "prod",
                    "severity": "critical",
                },
                "annotations": {
                    "summary": "P95 query time on users is 212 ms",
                    "description": "See the runbook.",
                },
                "startsAt": "2025-03-01T11:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"https://alertd.example/alerts/{fingerprint}",
                "fingerprint": am_fingerprint(
                    {
                        "alertname": "SlowQueryP95",
                        "table": table,
                        "env": "prod",
                        "severity": "critical",
                    }
                ),
            }
            for table, fingerprint in (("users", "5f2c1d9e8a7b6c4d"), ("pitches", "0" * 16))
        ],
    }


def test_fingerprints_are_alertmanagers_fnv1a_over_sorted_labels() -> None:
    # prometheus/common's own test vectors (model/signature_test.go), as hex.
    assert am_fingerprint({}) == f"{14695981039346656037:016x}"
    pair = {"name": "garland, briggs", "fear": "love is not enough"}
    assert am_fingerprint(pair) == f"{5799056148416392346:016x}"
    assert am_fingerprint(reversed(list(pair.items()))) == am_fingerprint(pair)
    # The 0xff separators keep name and value boundaries apart.
    assert am_fingerprint({"ab": "c"}) != am_fingerprint({"a": "bc"})
    assert len(am_fingerprint({"a": "\u00e9"})) == 16


def test_a_resolved_group_says_so_with_end_times() -> None:
    body = document(resolved(notification()))

    assert body["status"] == "resolved"
    assert body["alerts"][0]["status"] == "resolved"
    assert body["alerts"][0]["endsAt"] == "2025-03-01T12:00:00Z"
    assert "severity" not in body["alerts"][0]["labels"]


def test_a_severity_label_set_by_the_rule_wins() -> None:
    n = notification(alert(labels=(("severity", "page"),)))

    assert document(n)["alerts"][0]["labels"]["severity"] == "page"


def test_max_alerts_keeps_the_first_and_counts_the_rest() -> None:
    n = notification(*(alert(fingerprint=f"{i:016x}") for i in range(5)))

    body = document(n, max_alerts=2)

    assert len(body["alerts"]) == 2
    assert body["truncatedAlerts"] == 3


def test_the_signature_is_hmac_sha256_of_the_exact_body() -> None:
    payload = webhook(hmac_secret=SecretStr("k3y")).render(notification())

    expected = hmac.new(b"k3y", payload.body, hashlib.sha256).hexdigest()
    assert dict(payload.headers)["X-Alertd-Signature"] == f"sha256={expected}"
    assert signature("k3y", payload.body) == f"sha256={expected}"


def test_without_secrets_no_credential_header_is_sent() -> None:
    headers = dict(webhook().render(notification()).headers)

    assert headers == {
        "Content-Type": "application/json; charset=utf-8",
        "X-Alertd-Notification-Id": "n-0001",
        "Idempotency-Key": "n-0001",  # the same on every attempt, by every replica
    }


def test_a_bearer_token_goes_in_the_authorization_header() -> None:
    headers = dict(webhook(bearer_token=SecretStr("t0k3n")).render(notification()).headers)

    assert headers["Authorization"] == "Bearer t0k3n"


async def test_delivery_over_a_socket_is_signed_and_verified(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = WebhookReceiver(
        "ops",
        SecretStr(f"{fake.base_url}/webhook/alertd"),
        client=client,
        bearer_token=SecretStr(fakes.WEBHOOK_BEARER_TOKEN),
        hmac_secret=SecretStr(fakes.WEBHOOK_HMAC_SECRET),
    )

    delivered = await receiver.send(receiver.render(notification()))

    assert delivered == Delivered(None)
    assert "x-alertd-signature" in fake.webhook.requests[0].headers


def test_the_oracle_notices_a_forged_signature() -> None:
    payload = webhook(hmac_secret=SecretStr("not the shared secret")).render(notification())

    assert fakes.webhook_problems(fakes.received(payload)) == [
        "the signature does not match the body"
    ]
