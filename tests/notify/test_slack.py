"""Slack: Block Kit within limits, inert data, and a bot page that resolves in place."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from alertd.errors import ReceiverError
from alertd.notify.receivers import Delivered, SlackBotReceiver, SlackWebhookReceiver
from alertd.notify.receivers.slack import escape, message
from tests.notify import fakes
from tests.notify.fakes import Answer, FakeServices, alert, notification, resolved

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.slack.com/services/T0/B0/slackHOOKtokenSECRET00000001"


def bot(
    client: httpx.AsyncClient, fake: FakeServices, token: str = fakes.SLACK_BOT_TOKEN
) -> SlackBotReceiver:
    return SlackBotReceiver(
        "ops", SecretStr(token), "#alerts", client=client, api_url=f"{fake.base_url}/slack/api"
    )


def webhook() -> SlackWebhookReceiver:
    return SlackWebhookReceiver("ops", SecretStr(HOOK), client=httpx.AsyncClient())


def test_escape_replaces_only_slacks_three_control_characters() -> None:
    assert (
        escape("<!channel> & <@U1> *b* _i_ `c`") == "&lt;!channel&gt; &amp; &lt;@U1&gt; *b* _i_ `c`"
    )


def test_mentions_and_links_from_data_stay_inert() -> None:
    n = notification(
        alert(
            labels=(("table", "<!here>"),),
            annotations={"summary": "<!channel> see <https://evil.example|the fix>"},
        )
    )

    body = webhook().render(n).body.decode()

    assert "<!" not in body
    assert "<https://evil" not in body
    assert "&lt;!channel&gt; see &lt;https://evil.example|the fix&gt;" in body
    assert "&lt;!here&gt;" in body


def test_every_mrkdwn_text_is_verbatim() -> None:
    blocks = webhook().render(notification()).json()["blocks"]

    texts = [b["text"] for b in blocks if b["type"] == "section"]
    texts += [e for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert texts
    assert all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in texts)


def test_the_status_link_is_the_only_link_and_keeps_its_query() -> None:
    body = webhook().render(notification(status_url="https://s.example/a?b=1&c=|2")).json()

    context = body["blocks"][-1]["elements"][-1]["text"]
    assert context == "<https://s.example/a?b=1&amp;c=%7C2|Status page>"


def test_a_big_group_lists_twenty_alerts_then_says_how_many_more() -> None:
    n = notification(*(alert(labels=(("table", f"t{i}"),)) for i in range(300)))

    blocks = message(n)["blocks"]

    sections = [b for b in blocks if b["type"] == "section"]
    assert len(blocks) == 24  # header, 20 alerts, "and 280 more", links, context
    assert sections[-1]["text"]["text"] == "…and 280 more alerts"
    assert fakes.slack_message_problems(message(n)) == []


def test_a_long_title_is_cut_to_the_header_limit() -> None:
    n = notification(alert(rule="R" * 400))

    header = message(n)["blocks"][0]["text"]["text"]

    assert len(header) == 150
    assert header.endswith("…")


def test_escaping_never_pushes_a_section_past_its_limit() -> None:
    n = notification(alert(annotations={"summary": "<" * 5000, "description": "&" * 5000}))

    assert fakes.slack_message_problems(message(n)) == []


@settings(max_examples=150, deadline=None)
@given(text=st.text(), label=st.text(min_size=1))
def test_any_text_renders_a_message_slack_accepts(text: str, label: str) -> None:
    n = notification(
        alert(labels=((label, text),), annotations={"summary": text, "description": text})
    )

    assert fakes.slack_message_problems(message(n)) == []


async def test_webhook_delivery_over_a_socket_has_no_reference(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    url = f"{fake.base_url}/slack/hooks/services/T0/B0/slackHOOKtokenSECRET00000001"
    receiver = SlackWebhookReceiver("ops", SecretStr(url), client=client)

    delivered = await receiver.send(receiver.render(notification()))

    assert delivered == Delivered(None)
    assert fake.slack_webhook.requests[0].json()["blocks"][0]["type"] == "header"


def test_webhooks_cannot_edit_so_a_previous_ref_changes_nothing() -> None:
    n = resolved(notification())

    assert webhook().render(n, previous_ref="C1:1.2") == webhook().render(n)


async def test_bot_posts_a_firing_page_and_keeps_channel_id_and_ts(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = bot(client, fake)

    delivered = await receiver.send(receiver.render(notification()))

    [request] = fake.slack_api.requests
    assert request.path == "/slack/api/chat.postMessage"
    assert request.json()["channel"] == "#alerts"
    assert delivered.ref == f"{fakes.SLACK_CHANNEL_ID}:1740830400.000001"


async def test_bot_resolve_updates_the_page_and_replies_in_its_thread(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = bot(client, fake)
    n = notification()
    first = await receiver.send(receiver.render(n))

    again = await receiver.send(receiver.render(resolved(n), previous_ref=first.ref))

    ts = "1740830400.000001"
    paths = [r.path.rsplit("/", 1)[-1] for r in fake.slack_api.requests]
    assert paths == ["chat.postMessage", "chat.update", "chat.postMessage"]
    assert fake.slack_api.messages[ts]["text"].startswith("[RESOLVED] SlowQueryP95")
    reply = fake.slack_api.requests[-1].json()
    assert reply["thread_ts"] == ts
    assert reply["channel"] == fakes.SLACK_CHANNEL_ID
    assert reply["text"].startswith("[RESOLVED]")
    assert again.ref == first.ref


async def test_bot_resolve_without_a_known_page_posts_a_new_one(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = bot(client, fake)

    await receiver.send(receiver.render(resolved(notification())))

    [request] = fake.slack_api.requests
    assert request.path.endswith("/chat.postMessage")
    assert "thread_ts" not in request.json()


def test_bot_reference_without_a_channel_uses_the_configured_one() -> None:
    receiver = SlackBotReceiver("ops", SecretStr("xoxb-1"), "C0CONFIG", client=httpx.AsyncClient())

    payload = receiver.render(resolved(notification()), previous_ref="1740830400.000001")

    assert payload.json()["channel"] == "C0CONFIG"
    assert payload.json()["ts"] == "1740830400.000001"


async def test_bot_retry_after_a_failed_reply_updates_again_and_replies_once(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = bot(client, fake)
    first = await receiver.send(receiver.render(notification()))
    payload = receiver.render(resolved(notification()), previous_ref=first.ref)
    fake.slack_api.then(Answer(200, {"ok": True, "channel": fakes.SLACK_CHANNEL_ID, "ts": "1"}))
    fake.slack_api.then(Answer(503, "upstream trouble"))

    with pytest.raises(ReceiverError) as failed:
        await receiver.send(payload)
    await receiver.send(payload)

    assert failed.value.retryable is True
    replies = [r for r in fake.slack_api.requests if "thread_ts" in r.json()]
    assert len(replies) == 2  # the failed one, then the one that landed
    assert len(fake.slack_api.messages) == 2


async def test_bot_with_a_revoked_token_fails_for_good_naming_slacks_error(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = bot(client, fake, token="xoxb-revoked-token")

    with pytest.raises(ReceiverError) as failed:
        await receiver.send(receiver.render(notification()))

    assert "chat.postMessage failed: invalid_auth" in str(failed.value)
    assert failed.value.retryable is False


async def test_bot_ratelimited_in_a_200_is_retryable_after_retry_after(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.slack_api.then(Answer(200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    receiver = bot(client, fake)

    with pytest.raises(ReceiverError) as failed:
        await receiver.send(receiver.render(notification()))

    assert failed.value.retryable is True
    assert failed.value.retry_after == 30.0


async def test_bot_update_of_a_deleted_page_posts_it_anew_and_replies_there(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    receiver = bot(client, fake)
    payload = receiver.render(
        resolved(notification()), previous_ref=f"{fakes.SLACK_CHANNEL_ID}:1740830400.999999"
    )

    delivered = await receiver.send(payload)

    (posted, reply) = fake.slack_api.messages.items()
    assert delivered.ref == f"{fakes.SLACK_CHANNEL_ID}:{posted[0]}"
    assert posted[1]["text"].startswith("[RESOLVED]")
    assert reply[1]["thread_ts"] == posted[0]


def test_a_token_that_cannot_go_in_a_header_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError, match="cannot go in an HTTP header") as refused:
        SlackBotReceiver("ops", SecretStr("xoxb-bad token\n"), "#a", client=httpx.AsyncClient())

    assert "xoxb" not in str(refused.value)


def test_the_oracle_rejects_what_slack_would() -> None:
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    raw_mention = {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel>"}}

    assert fakes.slack_message_problems({"text": "t", "blocks": [too_long]})
    assert fakes.slack_message_problems({"text": "t", "blocks": [raw_mention]})
    assert fakes.slack_message_problems({"text": "t", "blocks": [raw_mention] * 51})
    assert fakes.slack_message_problems({"blocks": [{"type": "divider"}]})
