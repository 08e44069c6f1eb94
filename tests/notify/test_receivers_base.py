"""What every receiver shares: payloads that hide their credentials, and what to mask."""

from __future__ import annotations

import math

import pytest

from alertd.notify.receivers.base import Payload, json_payload, url_secrets

TEAMS = (
    "https://prod-01.westus.logic.azure.com:443/workflows/0a1b2c3d4e5f/triggers/manual/paths/"
    "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SiGnAtUrE0123456789abc"
)


def test_a_payload_repr_shows_origin_header_names_and_size_only() -> None:
    payload = json_payload(
        "https://hooks.slack.com/services/T0/B0/tokenTOKENtoken0123",
        {"routing_key": "r0utingKEY"},
        {"Authorization": "Bearer xoxb-s3cr3t"},
    )

    text = repr(payload)

    assert text == (
        "Payload(POST https://hooks.slack.com, 28 bytes, headers=('Content-Type', 'Authorization'))"
    )


def test_a_payload_body_is_compact_utf8_json() -> None:
    payload = json_payload("https://x.example", {"text": "é ✓", "n": [1, 2]})

    assert payload.body == '{"text":"é ✓","n":[1,2]}'.encode()
    assert payload.json() == {"text": "é ✓", "n": [1, 2]}


def test_a_payload_never_holds_json_that_is_not_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        json_payload("https://x.example", {"value": math.nan})


def test_followups_are_counted_in_the_repr() -> None:
    reply = Payload("https://slack.com/api/chat.postMessage", b"{}")

    assert repr(Payload("https://slack.com/api/chat.update", b"{}", (), (reply,))).endswith(
        "followups=1)"
    )


def test_the_secret_parts_of_a_workflows_url_include_its_signature() -> None:
    secrets = url_secrets(TEAMS)

    assert TEAMS in secrets
    assert "SiGnAtUrE0123456789abc" in secrets
    assert "2016-06-01" not in secrets


def test_the_secret_parts_of_a_slack_webhook_include_its_token_not_its_words() -> None:
    secrets = url_secrets("https://hooks.slack.com/services/T0FAKE/B0FAKE/tokenTOKENtoken0123")

    assert "tokenTOKENtoken0123" in secrets
    assert "services" not in secrets
