"""One suite, every receiver: what the outbox may rely on whichever service it delivers to.

Each receiver sends to its local fake (tests/notify/fakes.py), which checks every payload
against that service's oracle; a fake that found a payload wrong fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from alertd.errors import ReceiverError
from alertd.model import Notification
from alertd.notify.receivers import (
    PagerDutyReceiver,
    Payload,
    Receiver,
    SlackBotReceiver,
    SlackWebhookReceiver,
    TeamsReceiver,
    WebhookReceiver,
)
from tests.notify import fakes
from tests.notify.fakes import Answer, FakeServices, Service, alert, notification
from tests.notify.test_units_shown import firing_snapshot, notification_of, ratio_rule

pytestmark = pytest.mark.anyio

SLACK_HOOK_TOKEN = "slackHOOKtokenSECRET00000001"
TEAMS_SIG = "teamsSIGsecret0123456789abcdef"
PD_ROUTING_KEY = "pdROUTINGkeySECRET00000000000001"
WEBHOOK_URL_TOKEN = "webhookURLtokenSECRET0001"
TIMEOUT = 10.0  # seconds; checking a big card against the schema takes a while
SHORT_TIMEOUT = 0.2  # seconds; slow answers wait longer than this


@dataclass(frozen=True)
class Case:
    """One receiver under the contract: how to build it and how its service says no."""

    id: str
    service: Callable[[FakeServices], Service]
    build: Callable[[httpx.AsyncClient, str, float], Receiver]
    secrets: tuple[str, ...]
    refusal: Answer  # a failure the service documents as final
    refusal_text: str  # what of it the error must quote


CASES = [
    Case(
        "slack-webhook",
        lambda f: f.slack_webhook,
        lambda client, base, timeout: SlackWebhookReceiver(
            "ops",
            SecretStr(f"{base}/slack/hooks/services/T0FAKE/B0FAKE/{SLACK_HOOK_TOKEN}"),
            client=client,
            timeout=timeout,
        ),
        (SLACK_HOOK_TOKEN,),
        Answer(404, "channel_not_found"),
        "channel_not_found",
    ),
    Case(
        "slack-bot",
        lambda f: f.slack_api,
        lambda client, base, timeout: SlackBotReceiver(
            "ops",
            SecretStr(fakes.SLACK_BOT_TOKEN),
            "#alerts",
            client=client,
            api_url=f"{base}/slack/api",
            timeout=timeout,
        ),
        (fakes.SLACK_BOT_TOKEN,),
        Answer(200, {"ok": False, "error": "channel_not_found"}),
        "channel_not_found",
    ),
    Case(
        "teams",
        lambda f: f.teams,
        lambda client, base, timeout: TeamsReceiver(
            "ops",
            SecretStr(
                f"{base}/teams/workflows/0a1b2c/triggers/manual/paths/invoke"
                f"?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig={TEAMS_SIG}"
            ),
            client=client,
            timeout=timeout,
        ),
        (TEAMS_SIG,),
        Answer(400, {"error": {"code": "InvalidRequestContent", "message": "bad card"}}),
        "InvalidRequestContent: bad card",
    ),
    Case(
        "pagerduty",
        lambda f: f.pagerduty,
        lambda client, base, timeout: PagerDutyReceiver(
            "ops",
            SecretStr(PD_ROUTING_KEY),
            client=client,
            url=f"{base}/pagerduty/v2/enqueue",
            timeout=timeout,
        ),
        (PD_ROUTING_KEY,),
        Answer(
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["'payload.source' is missing or blank"],
            },
        ),
        "Event object is invalid: 'payload.source' is missing or blank",
    ),
    Case(
        "webhook",
        lambda f: f.webhook,
        lambda client, base, timeout: WebhookReceiver(
            "ops",
            SecretStr(f"{base}/webhook/alertd?token={WEBHOOK_URL_TOKEN}"),
            client=client,
            bearer_token=SecretStr(fakes.WEBHOOK_BEARER_TOKEN),
            hmac_secret=SecretStr(fakes.WEBHOOK_HMAC_SECRET),
            timeout=timeout,
        ),
        (WEBHOOK_URL_TOKEN, fakes.WEBHOOK_BEARER_TOKEN, fakes.WEBHOOK_HMAC_SECRET),
        Answer(403, "forbidden: token not accepted"),
        "forbidden: token not accepted",
    ),
]

MENTIONS = "<!channel> <!here> <@U024BE7LH> <#C024BE7LR> <https://evil.example|click> & co"
HOSTILE = {
    "mentions": notification(
        alert(
            labels=(("table", "<!everyone>"), ("env", "a&b")),
            annotations={"summary": MENTIONS, "description": f"*bold* `{MENTIONS}`"},
        )
    ),
    "40 KB of text": notification(
        alert(
            labels=(("table", "u" * 10_000),),
            annotations={"summary": "s" * 40_000, "description": "d<>&" * 10_000},
        )
    ),
    "unicode": notification(
        alert(
            rule="Ошибки🔥",
            labels=(("表", "用户🧑‍💻"), ("rtl", "مرحبا"), ("combining", "e\u0301" * 50)),
            annotations={"summary": "🔥" * 5_000, "description": "\u200b\t\n¯\\_(ツ)_/¯"},
        )
    ),
    "300 alerts": notification(
        *(
            alert(labels=(("table", f"t{i}"), ("note", "x" * 200)), fingerprint=f"{i:016x}")
            for i in range(300)
        )
    ),
    "no value, no annotations": notification(alert(value=None, annotations={})),
    "resolved": notification(alert(firing=False), firing=False),
}


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    case: Case = request.param
    return case


def receiver(
    case: Case, client: httpx.AsyncClient, fake: FakeServices, timeout: float = TIMEOUT
) -> Receiver:
    return case.build(client, fake.base_url, timeout)


async def failure(r: Receiver, n: Notification) -> ReceiverError:
    with pytest.raises(ReceiverError) as caught:
        await r.send(r.render(n))
    return caught.value


async def test_an_ordinary_notification_is_delivered_and_valid(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    r = receiver(case, client, fake)
    payload = r.render(notification())

    assert case.service(fake).check(fakes.received(payload)) == []
    await r.send(payload)
    assert len(case.service(fake).requests) == 1


@pytest.mark.parametrize("n", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_text_still_renders_a_valid_payload(
    case: Case, client: httpx.AsyncClient, fake: FakeServices, n: Notification
) -> None:
    r = receiver(case, client, fake)
    payload = r.render(n)

    assert case.service(fake).check(fakes.received(payload)) == []
    await r.send(payload)
    assert case.service(fake).requests


async def test_render_is_pure(case: Case, client: httpx.AsyncClient, fake: FakeServices) -> None:
    r = receiver(case, client, fake)
    n = notification(alert(), alert("ApiP95", fingerprint="0000000000000002"))

    assert r.render(n) == r.render(n)


async def test_no_secret_reaches_repr_errors_logs_or_other_fields(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    r = receiver(case, client, fake, SHORT_TIMEOUT)
    n = HOSTILE["mentions"]
    failures = [
        Answer(500, "internal_error"),
        Answer(429, "rate_limited", {"Retry-After": "3"}),
        case.refusal,
        # A service that quotes the credential back in its error text.
        Answer(400, {"ok": False, "error": f"bad credential {' '.join(case.secrets)}"}),
        Answer(drop=True),
        Answer(delay=5.0),
    ]
    case.service(fake).then(*failures)
    with capture_logs() as logs:
        payload = r.render(n)
        errors = [await failure(r, n) for _ in failures]
        unreachable = case.build(client, fakes.closed_port_url(), SHORT_TIMEOUT)
        errors.append(await failure(unreachable, n))
        await r.send(payload)

    outputs = [repr(r), repr(unreachable), repr(payload), _outside_credential_fields(payload)]
    outputs += [f"{e!s} {e!r} {e.__cause__!s}" for e in errors]
    outputs += [json.dumps(entry, default=str) for entry in logs]
    assert logs
    for secret in case.secrets:
        assert [o for o in outputs if secret in o] == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retryable(
    case: Case, client: httpx.AsyncClient, fake: FakeServices, status: int
) -> None:
    case.service(fake).then(Answer(status, "upstream trouble"))

    error = await failure(receiver(case, client, fake), notification())

    assert error.retryable
    assert f"HTTP {status}" in str(error)


async def test_429_is_retryable_after_the_wait_the_service_asks(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    case.service(fake).then(
        Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})
    )

    error = await failure(receiver(case, client, fake), notification())

    assert error.retryable
    assert error.retry_after == 7.0


async def test_429_without_retry_after_is_retryable_with_no_hint(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    case.service(fake).then(Answer(429, "Too Many Requests"))

    error = await failure(receiver(case, client, fake), notification())

    assert error.retryable
    assert error.retry_after is None


async def test_a_final_refusal_is_not_retryable_and_quotes_the_service(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    case.service(fake).then(case.refusal)

    error = await failure(receiver(case, client, fake), notification())

    assert not error.retryable
    assert case.refusal_text in str(error)
    assert "'ops'" in str(error)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
async def test_other_4xx_is_not_retryable(
    case: Case, client: httpx.AsyncClient, fake: FakeServices, status: int
) -> None:
    case.service(fake).then(Answer(status, "no_service"))

    error = await failure(receiver(case, client, fake), notification())

    assert not error.retryable
    assert error.retry_after is None
    assert "no_service" in str(error)


async def test_an_answer_slower_than_the_timeout_is_retryable(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    case.service(fake).then(Answer(delay=5.0))

    error = await failure(receiver(case, client, fake, SHORT_TIMEOUT), notification())

    assert error.retryable
    assert f"no answer within {SHORT_TIMEOUT:g} s" in str(error)


async def test_a_connection_dropped_mid_answer_is_retryable(
    case: Case, client: httpx.AsyncClient, fake: FakeServices
) -> None:
    case.service(fake).then(Answer(200, "partial", drop=True))

    error = await failure(receiver(case, client, fake), notification())

    assert error.retryable
    assert "RemoteProtocolError" in str(error)


async def test_an_unreachable_service_is_retryable(case: Case, client: httpx.AsyncClient) -> None:
    r = case.build(client, fakes.closed_port_url(), SHORT_TIMEOUT)

    error = await failure(r, notification())

    assert error.retryable
    assert "ConnectError" in str(error)


def _outside_credential_fields(payload: Payload) -> str:
    """Everything of a payload except its URL and the fields a service needs a secret in."""
    body = payload.json()
    body.pop("routing_key", None)
    headers = [v for k, v in payload.headers if k.lower() not in ("authorization",)]
    followups = [_outside_credential_fields(f) for f in payload.followups]
    return json.dumps([body, headers, followups], ensure_ascii=False)


# What each service's payload says of a ratio rule at 0.118 with threshold "> 5%".
PERCENT_SHOWN = {
    "slack-webhook": ("11.8 %", "(threshold &gt; 5 %)"),
    "slack-bot": ("11.8 %", "(threshold &gt; 5 %)"),
    "teams": ("11.8 %", "(threshold > 5 %)"),
    "pagerduty": ('"value_text": "11.8 %"', '"threshold": "> 5 %"'),
    "webhook": ("11.8% of queries fail",),
}


async def test_a_percent_rule_shows_its_value_and_threshold_in_percent(
    case: Case, client: httpx.AsyncClient, fake: FakeServices, tmp_path: Path
) -> None:
    n = notification_of(firing_snapshot(ratio_rule(tmp_path)))
    r = receiver(case, client, fake)
    payload = r.render(n)

    assert case.service(fake).check(fakes.received(payload)) == []
    text = json.dumps(json.loads(payload.body), ensure_ascii=False)
    for shown in PERCENT_SHOWN[case.id]:
        assert shown in text
    if case.id != "pagerduty":  # PagerDuty keeps the raw number beside `value_text`
        assert "0.118" not in text
